using System.Globalization;

namespace Pipeline.Aggregator.Distributor;

/// <summary>How Loki writes times and sizes in its refusal messages.</summary>
internal static class LokiMessageFormat
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    public static string Time(long ns) =>
        DateTimeOffset.UnixEpoch.AddTicks(ns / 100).ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>Bytes as Loki's <c>flagext.ByteSize</c> prints them (e.g. <c>3MB</c>).</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            unit++;
        }

        return bytes.ToString("0.##", CultureInfo.InvariantCulture) + units[unit];
    }
}
