using System.Globalization;
using System.Text;

namespace Pipeline.Throughput;

/// <summary>
/// A kubelet-style tree of CRI pod logs (<c>pods/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/0.log</c>) of about
/// the requested size, with ≈230-byte JSON lines, reused when already there.
/// </summary>
internal sealed record Workload(string Root, string Glob, int FileCount, long Bytes, long Lines, long DebugLines)
{
    private static readonly string[] s_paths = ["/api/cart", "/api/checkout", "/api/orders/4711", "/healthz", "/api/search?q=boots"];

    /// <summary>Levels by line number: every sixth line is <c>debug</c> (the rich config drops those).</summary>
    private static readonly string[] s_levels = ["info", "info", "info", "warn", "error", "debug"];

    public static Workload Ensure(string dir, long size, int files)
    {
        var root = Path.Combine(dir, $"workload-{size}-{files}");
        var marker = Path.Combine(root, ".complete");
        if (!File.Exists(marker))
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            var (lines, debug) = Generate(Path.Combine(root, "pods"), size, files);
            File.WriteAllText(marker, string.Create(CultureInfo.InvariantCulture, $"{lines} {debug}"));
        }

        var counts = File.ReadAllText(marker).Split(' ');
        long bytes = 0;
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "pods"), "*.log", SearchOption.AllDirectories))
        {
            bytes += new FileInfo(file).Length;
            count++;
        }

        return new Workload(root, Path.Combine(root, "pods", "*", "*", "*.log"), count, bytes,
            long.Parse(counts[0], CultureInfo.InvariantCulture), long.Parse(counts[1], CultureInfo.InvariantCulture));
    }

    private static (long Lines, long Debug) Generate(string root, long size, int files)
    {
        var perFile = Math.Max(size / files, 1);
        long lines = 0, debug = 0;
        var start = new DateTime(2026, 11, 26, 10, 0, 0, DateTimeKind.Utc);
        var text = new StringBuilder(320);
        for (var f = 0; f < files; f++)
        {
            // Four namespaces; kubelet's layout, so namespace, pod and container come from the path.
            var dir = Path.Combine(root, $"shop-{f % 4}_checkout-{f:D3}-7d9f8_{Guid.NewGuid()}", "api");
            Directory.CreateDirectory(dir);
            using var writer = new StreamWriter(Path.Combine(dir, "0.log"), false, new UTF8Encoding(false), 1 << 20);
            long written = 0;
            for (long n = 0; written < perFile; n++)
            {
                var time = start.AddTicks(n * 10);
                var level = s_levels[n % s_levels.Length];
                text.Clear()
                    .Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("00Z ")
                    .Append(n % 7 == 0 ? "stderr" : "stdout").Append(" F ")
                    .Append("{\"level\":\"").Append(level).Append("\",\"ts\":\"")
                    .Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture))
                    .Append("\",\"msg\":\"request served\",\"method\":\"GET\",\"path\":\"")
                    .Append(s_paths[n % s_paths.Length]).Append("\",\"status\":200,\"duration_ms\":").Append(n % 250)
                    .Append(",\"user_agent\":\"kube-probe/1.31\",\"trace_id\":\"").Append((n * 2654435761L).ToString("x16", CultureInfo.InvariantCulture)).Append("\"}");
                text.Append('\n');
                writer.Write(text);
                written += text.Length;
                lines++;
                if (level == "debug")
                {
                    debug++;
                }
            }
        }

        return (lines, debug);
    }
}
