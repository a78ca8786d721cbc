using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Aggregator.Patterns;

namespace Pipeline.Benchmarks.Aggregator.Patterns;

/// <summary>
/// Pattern detection over 100,000 generated request lines (a few templates with variable paths, statuses, durations and
/// IDs): lines per second = <see cref="Lines"/> / mean time. This is the cost of one <c>/loki/api/v1/patterns</c> request
/// over that many lines, beside reading them.
/// </summary>
[MemoryDiagnoser]
public class DrainBenchmarks
{
    private const int Lines = 100_000;
    private byte[][] _lines = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        string[] paths = ["/api/v1/items", "/api/v1/users", "/healthz", "/metrics", "/api/v1/orders"];
        _lines = new byte[Lines][];
        for (var i = 0; i < Lines; i++)
        {
            var line = (i % 4) switch
            {
                0 => $"level=info caller=server.go:{random.Next(100, 999)} msg=\"request handled\" method=GET path={paths[random.Next(paths.Length)]}/{random.Next(100000)} status=200 duration={random.Next(1, 500)}ms trace_id={random.NextInt64():x16}",
                1 => $"GET {paths[random.Next(paths.Length)]}/{random.Next(1000)} HTTP/1.1 200 {random.Next(100, 90000)} bytes in {random.Next(1, 900)}ms from 10.0.{random.Next(256)}.{random.Next(256)}",
                2 => $"user {random.Next(100000)} logged in from 192.168.{random.Next(256)}.{random.Next(256)} using session {random.NextInt64():x16}",
                _ => $"connection to database db-{random.Next(3)} lost after {random.Next(1, 60)} seconds, retrying in {random.Next(1, 10)}s",
            };
            _lines[i] = Encoding.UTF8.GetBytes(line);
        }
    }

    [Benchmark]
    public int Train()
    {
        using var drain = new Drain();
        foreach (var line in _lines)
        {
            drain.Train(line)?.Add(0);
        }

        return drain.Clusters.Count();
    }
}
