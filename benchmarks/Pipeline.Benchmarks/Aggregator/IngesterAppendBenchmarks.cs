using System.Text;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.Storage;
using BenchmarkDotNet.Attributes;
using Pipeline.Aggregator.Wal;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Aggregator;

/// <summary>
/// Append throughput into WAL + ingester: one operation is one push of ~1 MiB of pod lines (10 streams of ~500 lines),
/// fsync per batch versus per second. Lines/s = <see cref="LinesPerBatch"/> / mean; MB/s = 1 MiB / mean.
/// </summary>
[MemoryDiagnoser]
public class IngesterAppendBenchmarks
{
    public const int LinesPerBatch = 5000;

    private string _dir = "";
    private LogIngester _ingester = null!;
    private IngestStream[] _batch = [];
    private long _next;

    [Params(WalFsyncPolicy.EveryBatch, WalFsyncPolicy.Interval)]
    public WalFsyncPolicy Fsync { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "agg-bench-" + Guid.NewGuid().ToString("N"));
        _ingester = LogIngester.Open(new IngesterOptions
        {
            DataDirectory = _dir,
            WalFsyncPolicy = Fsync,
            MemoryLimitBytes = 64L << 20,
            WalSegmentSize = 32L << 20,
        });
        _next = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        _batch = new IngestStream[10];
        var random = new Random(1);
        for (var s = 0; s < _batch.Length; s++)
        {
            var labels = LabelSet.Create(
                new Label("namespace", "prod"),
                new Label("pod", $"api-7d9f8c6b5-{s:x5}"),
                new Label("container", "api"),
                new Label("job", "prod/api"));
            var entries = new IngestEntry[LinesPerBatch / _batch.Length];
            for (var i = 0; i < entries.Length; i++)
            {
                var line = $"2026-11-26T10:00:00.{i:D9}Z stdout F level=info ts=2026-11-26T10:00:00Z caller=handler.go:{random.Next(1000)} " +
                           $"msg=\"request served\" method=GET path=/api/v1/items/{random.Next(100000)} status=200 duration_ms={random.Next(500)} " +
                           $"trace_id={random.NextInt64():x16}";
                entries[i] = new IngestEntry(i, Encoding.UTF8.GetBytes(line));
            }

            _batch[s] = new IngestStream(labels, entries);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ingester.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public async Task<int> AppendBatch()
    {
        // Fresh timestamps per push, so nothing is a duplicate and nothing falls behind the window.
        var baseTs = _next;
        _next += LinesPerBatch;
        var streams = new IngestStream[_batch.Length];
        for (var s = 0; s < streams.Length; s++)
        {
            var source = _batch[s].Entries;
            var entries = new IngestEntry[source.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = new IngestEntry(baseTs + i, source[i].Line);
            }

            streams[s] = new IngestStream(_batch[s].Labels, entries);
        }

        var result = await _ingester.AppendAsync("bench", streams).ConfigureAwait(false);
        return result.Accepted;
    }
}
