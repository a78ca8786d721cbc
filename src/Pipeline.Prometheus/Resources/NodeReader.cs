using System.Globalization;

namespace Pipeline.Prometheus.Resources;

/// <summary>Reads the node's <c>/proc/stat</c> (CPU seconds per cpu and mode) and <c>/proc/meminfo</c> (bytes), node_exporter-named.</summary>
internal sealed class NodeReader
{
    private static readonly string[] s_modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];

    private readonly ResourceSourceOptions _options;

    public NodeReader(ResourceSourceOptions options)
    {
        _options = options;
    }

    public void Read(List<ResourceSample> samples, Action<string> skip)
    {
        if (_options.ProcStatPath is { } statPath && ResourceFiles.TryRead(statPath, skip) is { } stat)
        {
            ReadStat(stat, statPath, samples, skip);
        }

        if (_options.MemInfoPath is { } memPath && ResourceFiles.TryRead(memPath, skip) is { } meminfo)
        {
            ReadMemInfo(meminfo, memPath, samples, skip);
        }
    }

    private void ReadStat(string text, string path, List<ResourceSample> samples, Action<string> skip)
    {
        // "cpu0 user nice system idle iowait irq softirq steal ...", in USER_HZ ticks; the aggregate "cpu" line is left out.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
            {
                continue;
            }

            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var cpu = fields[0][3..];
            for (var i = 0; i < s_modes.Length && i + 1 < fields.Length; i++)
            {
                if (!double.TryParse(fields[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var ticks))
                {
                    skip(path);
                    return;
                }

                samples.Add(new(ResourceMetricNames.NodeCpuSeconds, true, [new("cpu", cpu), new("mode", s_modes[i])], ticks / _options.ClockTicksPerSecond));
            }
        }
    }

    private static void ReadMemInfo(string text, string path, List<ResourceSample> samples, Action<string> skip)
    {
        // "MemTotal:       16318912 kB" -> node_memory_MemTotal_bytes; "Active(anon)" -> node_memory_Active_anon_bytes.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                skip(path);
                return;
            }

            var rest = line.AsSpan(colon + 1).Trim();
            var multiplier = 1.0;
            if (rest.EndsWith(" kB", StringComparison.Ordinal))
            {
                rest = rest[..^3].TrimEnd();
                multiplier = 1024;
            }

            if (!double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                skip(path);
                return;
            }

            var field = line[..colon].Replace('(', '_').Replace(")", string.Empty, StringComparison.Ordinal);
            var name = ResourceMetricNames.NodeMemoryPrefix + Exposition.PrometheusNaming.SanitizeLabelName(field)
                + (multiplier == 1 ? string.Empty : "_bytes");
            samples.Add(new(name, false, [], value * multiplier));
        }
    }
}
