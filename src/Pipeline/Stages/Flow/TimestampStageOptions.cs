namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>timestamp</c> stage (<see cref="TimestampStage"/>), named as in Promtail.</summary>
public sealed class TimestampStageOptions
{
    /// <summary>The default of <see cref="ActionOnFailure"/>.</summary>
    public const string DefaultActionOnFailure = "fudge";

    /// <summary><c>source</c>: the extracted value holding the time (required).</summary>
    public string? Source { get; set; }

    /// <summary>
    /// <c>format</c> (required): a Go reference layout such as <c>2006-01-02 15:04:05.000</c>, or a name: ANSIC, UnixDate,
    /// RubyDate, RFC822, RFC822Z, RFC850, RFC1123, RFC1123Z, RFC3339, RFC3339Nano, Kitchen, Stamp, StampMilli, StampMicro,
    /// StampNano, Unix, UnixMs, UnixUs, UnixNs.
    /// </summary>
    public string? Format { get; set; }

    /// <summary><c>fallback_formats</c>: formats tried in order when <see cref="Format"/> does not parse.</summary>
    public IList<string> FallbackFormats { get; init; } = [];

    /// <summary><c>location</c>: the IANA time zone (such as <c>Europe/Paris</c>) of times that carry no zone.</summary>
    public string? Location { get; set; }

    /// <summary><c>action_on_failure</c>: <c>fudge</c> (default: 1 ns after the stream's last parsed time) or <c>skip</c> (keep the timestamp).</summary>
    public string? ActionOnFailure { get; set; }

    /// <summary>The clock, for the current year of layouts without one (default: the pipeline's, or the system clock).</summary>
    public TimeProvider? TimeProvider { get; set; }
}
