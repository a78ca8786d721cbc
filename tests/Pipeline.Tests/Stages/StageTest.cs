using System.Text;
using Pipeline.Model;

namespace Pipeline.Tests.Stages;

internal static class StageTest
{
    public static LogEntry Entry(string line, LabelSet? labels = null, long timestamp = 0)
    {
        var entry = new LogEntry { Labels = labels ?? LabelSet.Empty, Timestamp = timestamp };
        entry.SetLine(Encoding.UTF8.GetBytes(line));
        return entry;
    }

    public static LogEntry Entry(byte[] line, LabelSet? labels = null)
    {
        var entry = new LogEntry { Labels = labels ?? LabelSet.Empty };
        entry.SetLine(line);
        return entry;
    }

    public static string? Get(this LogFields fields, string name) => fields.TryGetString(name, out var value) ? value : null;

    public static LabelSet Labels(string text) => LabelSet.Parse(text);

    public static long Ns(string rfc3339) => checked((DateTimeOffset.Parse(rfc3339, System.Globalization.CultureInfo.InvariantCulture).UtcTicks - DateTime.UnixEpoch.Ticks) * 100);
}
