using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Http;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.Wal;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Aggregator.Http;

/// <summary>
/// End-to-end push throughput of the aggregator on 127.0.0.1: one operation is <see cref="Clients"/> concurrent clients
/// each pushing one ~1 MiB (uncompressed) protobuf+snappy batch of <see cref="LinesPerBatch"/> lines in 10 streams.
/// Lines/s = Clients * LinesPerBatch / mean; MB/s = Clients * 1 MiB / mean. Every operation pushes new lines (later
/// timestamps), so it measures storing them, not the aggregator skipping duplicates.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1, 1)]
public class PushServerBenchmarks
{
    public const int LinesPerBatch = 5000;

    private string _dir = "";
    private AggregatorServer _server = null!;
    private HttpClient _client = null!;
    private byte[][] _bodies = [];
    private long _next;

    [Params(1, 4)]
    public int Clients { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "agg-http-bench-" + Guid.NewGuid().ToString("N"));
        var options = new AggregatorServerOptions
        {
            ListenAddress = "127.0.0.1:0",
            Ingester = new IngesterOptions { DataDirectory = _dir, WalFsyncPolicy = WalFsyncPolicy.Interval, MemoryLimitBytes = 128L << 20 },
            MaxRequestBodyBytes = 16L << 20,

            // Measure the server, not the limits.
            Limits = new DistributorLimits { IngestionRateBytes = 0, PerStreamRateBytes = 0 },
        };
        _server = AggregatorServer.StartAsync(options).GetAwaiter().GetResult();
        _client = new HttpClient { BaseAddress = _server.BaseAddress };
        _next = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
    }

    [IterationSetup]
    public void BuildBodies()
    {
        _bodies = new byte[Clients][];
        for (var c = 0; c < Clients; c++)
        {
            _bodies[c] = Build(c);
        }

        _next += LinesPerBatch;
    }

    private byte[] Build(int client)
    {
        using var builder = new PushRequestBuilder();
        var random = new Random(client);
        var line = new StringBuilder();
        for (var i = 0; i < LinesPerBatch; i++)
        {
            var labels = LabelSet.Create(new Label("namespace", "prod"), new Label("pod", $"api-{client}-{i % 10}"), new Label("container", "api"));
            line.Clear().Append("2026-11-26T10:00:00.123456789Z stdout F level=info msg=\"request done\" path=/api/v1/items/")
                .Append(random.Next(100_000)).Append(" status=200 took=").Append(random.Next(1000)).Append("ms user=").Append(random.Next(10_000))
                .Append(" trace=").Append(Guid.NewGuid().ToString("N"));
            builder.Add(labels, _next + i, Encoding.UTF8.GetBytes(line.ToString()), ReadOnlySpan<Label>.Empty);
        }

        using var output = new PooledBufferWriter();
        PushBodyEncoder.WriteSnappyProtobuf(builder, output);
        return output.WrittenSpan.ToArray();
    }

    [Benchmark]
    public async Task<int> PushBatches()
    {
        var tasks = new Task<int>[Clients];
        for (var c = 0; c < Clients; c++)
        {
            tasks[c] = PushAsync(_bodies[c]);
        }

        var total = 0;
        foreach (var status in await Task.WhenAll(tasks))
        {
            if (status != 204)
            {
                throw new InvalidOperationException($"push answered {status}");
            }

            total += status;
        }

        return total;
    }

    private async Task<int> PushAsync(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await _client.PostAsync("loki/api/v1/push", content);
        return (int)response.StatusCode;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
