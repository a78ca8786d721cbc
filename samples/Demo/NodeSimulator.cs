using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Pipeline.Samples.Demo;

/// <summary>
/// Plays a Kubernetes node: a few pods write realistic CRI lines into a kubelet-style <c>var/log/pods</c> tree,
/// and the "kubelet" rotates each file (<c>0.log</c> -> <c>0.log.&lt;timestamp&gt;</c>, the one before gzipped).
/// </summary>
internal sealed class NodeSimulator(string root, TimeProvider time, int linesPerSecond, long rotateBytes)
{
    private static readonly (string Namespace, string Pod, string Container, string Kind)[] s_containers =
    [
        ("shop", "checkout-7d9f8-x2k4q", "api", "api"),
        ("shop", "checkout-7d9f8-x2k4q", "istio-proxy", "proxy"),
        ("shop", "cart-5c6b7-p9z1m", "api", "api"),
        ("payments", "ledger-0", "ledger", "worker"),
        ("kube-system", "coredns-76f75-abcde", "coredns", "dns"),
        ("monitoring", "grafana-6b9c-q8w2e", "grafana", "logfmt"),
    ];

    private static readonly string[] s_paths = ["/api/cart", "/api/checkout", "/api/orders/4711", "/healthz", "/api/search?q=boots"];

    private long _written;

    public long LinesWritten => Interlocked.Read(ref _written);

    public string PodsRoot { get; } = Path.Combine(root, "var", "log", "pods");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var files = s_containers.Select(c =>
        {
            var dir = Path.Combine(PodsRoot, $"{c.Namespace}_{c.Pod}_{Guid.NewGuid()}", c.Container);
            Directory.CreateDirectory(dir);
            return (Spec: c, Path: Path.Combine(dir, "0.log"));
        }).ToArray();
        var random = new Random(42);
        var text = new StringBuilder();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), time);
        long n = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var (spec, path) in files)
                {
                    text.Clear();
                    var batch = Math.Max(1, linesPerSecond / 10 / files.Length);
                    for (var i = 0; i < batch; i++, n++)
                    {
                        AppendLine(text, spec, n, random);
                    }

                    await File.AppendAllTextAsync(path, text.ToString(), cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _written, batch);
                    if (new FileInfo(path).Length > rotateBytes)
                    {
                        Rotate(path);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void AppendLine(StringBuilder text, (string Namespace, string Pod, string Container, string Kind) spec, long n, Random random)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var level = random.Next(100) switch { < 70 => "info", < 85 => "debug", < 95 => "warn", _ => "error" };
        text.Append(now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("00Z ")
            .Append(level == "error" ? "stderr" : "stdout").Append(" F ");
        switch (spec.Kind)
        {
            case "api":
                var status = level == "error" ? 500 : level == "warn" ? 429 : 200;
                text.Append("{\"level\":\"").Append(level).Append("\",\"msg\":\"request served\",\"method\":\"GET\",\"path\":\"")
                    .Append(s_paths[n % s_paths.Length]).Append("\",\"status\":").Append(status)
                    .Append(",\"duration_ms\":").Append(random.Next(2, 400)).Append(",\"trace_id\":\"")
                    .Append(random.NextInt64().ToString("x16", CultureInfo.InvariantCulture)).Append("\"}");
                break;
            case "logfmt":
                text.Append("level=").Append(level).Append(" logger=http.server msg=\"Request completed\" path=/api/dashboards status=")
                    .Append(level == "error" ? 500 : 200).Append(" duration=").Append(random.Next(1, 90)).Append("ms");
                break;
            case "proxy":
                text.Append('[').Append(now.ToString("O", CultureInfo.InvariantCulture)).Append("] \"GET ").Append(s_paths[n % s_paths.Length])
                    .Append(" HTTP/1.1\" ").Append(level == "error" ? 503 : 200).Append(" - via_upstream ").Append(random.Next(100, 9000)).Append(" level=").Append(level);
                break;
            case "dns":
                text.Append('[').Append(level.ToUpperInvariant()).Append("] 10.244.0.").Append(random.Next(2, 250))
                    .Append(":53 - \"A IN checkout.shop.svc.cluster.local. udp 51 false 512\" NOERROR qr,aa,rd 110 0.000").Append(random.Next(100, 999)).Append('s');
                break;
            default:
                text.Append("level=").Append(level).Append(" msg=\"ledger batch committed\" batch=").Append(n).Append(" entries=").Append(random.Next(1, 500));
                break;
        }

        text.Append('\n');
    }

    private void Rotate(string path)
    {
        // As the kubelet does: rename the live file, start a new one, compress the previous rotation.
        var stamp = time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        var dir = Path.GetDirectoryName(path)!;
        foreach (var old in Directory.GetFiles(dir, "0.log.*").Where(f => !f.EndsWith(".gz", StringComparison.Ordinal)))
        {
            using (var input = File.OpenRead(old))
            using (var output = new GZipStream(File.Create(old + ".gz"), CompressionLevel.Fastest))
            {
                input.CopyTo(output);
            }

            File.Delete(old);
        }

        File.Move(path, $"{path}.{stamp}");
        File.WriteAllText(path, string.Empty);
    }
}
