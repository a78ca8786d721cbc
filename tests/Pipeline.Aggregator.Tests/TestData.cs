using System.Text;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.Storage;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Tests;

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agg-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class TestData
{
    public static readonly DateTimeOffset Start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Start);

    public static long Ns(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    public static long StartNs => Ns(Start);

    public static LabelSet Labels(string app, string ns = "prod") => LabelSet.Create(new Label("app", app), new Label("namespace", ns));

    public static IngestEntry Entry(long ts, string line) => new(ts, Encoding.UTF8.GetBytes(line));

    public static IngestStream Stream(LabelSet labels, params IngestEntry[] entries) => new(labels, entries);

    public static IngestStream[] Push(LabelSet labels, params IngestEntry[] entries) => [new IngestStream(labels, entries)];

    public static IngesterOptions Options(string dir, Func<IngesterOptions, IngesterOptions>? configure = null)
    {
        var options = new IngesterOptions { DataDirectory = dir, RunBackgroundLoops = false };
        return configure is null ? options : configure(options);
    }

    public static List<(long Ts, string Line)> ReadAll(LogIngester ingester, string tenant, LabelSet labels, Direction direction = Direction.Forward, long from = long.MinValue, long to = long.MaxValue)
    {
        var result = new List<(long, string)>();
        foreach (var entry in ingester.ReadEntries(tenant, labels, from, to, direction))
        {
            result.Add((entry.Timestamp, Encoding.UTF8.GetString(entry.Line.Span)));
        }

        return result;
    }

    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Yield();
            Thread.Yield();
        }
    }
}
