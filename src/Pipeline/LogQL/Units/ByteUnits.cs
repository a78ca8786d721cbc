namespace Pipeline.LogQL.Units;

/// <summary>What the unit letters of a byte size mean: the one place Promtail's configs and LogQL disagree.</summary>
internal enum ByteUnits
{
    /// <summary>
    /// Promtail's configuration (dskit <c>flagext.ByteSize</c>): every unit is a power of 1024, so <c>KB</c>,
    /// <c>KiB</c> and <c>K</c> are all 1024.
    /// </summary>
    Binary,

    /// <summary>
    /// LogQL (go-humanize <c>ParseBytes</c>): <c>kB</c>/<c>k</c> are powers of 1000 and <c>KiB</c>/<c>Ki</c> powers of
    /// 1024.
    /// </summary>
    Humanized,
}
