using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Runtime;
using Pipeline.Sources.Files;
using Pipeline.Testing;

namespace Pipeline.Tests.Sources.Files;

/// <summary>What the file source's tests share: a temporary root, a fake clock, the source's logs, and runs of a source into a sink.</summary>
public abstract class FileTailTestBase : IDisposable
{
    protected static TimeSpan WaitLimit { get; } = TimeSpan.FromSeconds(30);

    protected FileTailTestBase() => Directory.CreateDirectory(Root);

    protected string Root { get; } = Path.Combine(Path.GetTempPath(), "tail-" + Guid.NewGuid().ToString("N"));

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));

    protected string PositionsPath => Path.Combine(Root, "positions.yaml");

    protected FakeLoggerProvider Logs { get; } = new();

    /// <summary>The source's log so far, for assertion messages.</summary>
    protected string LogText => string.Join("\n", Logs.Collector.GetSnapshot().Select(r => $"{r.Level} {r.Message}"));

    public void Dispose()
    {
        Logs.Dispose();
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected FileTailOptions Options(string pattern)
    {
        var options = new FileTailOptions
        {
            PositionsPath = PositionsPath,
            UseFileSystemWatcher = false,
            PollInterval = TimeSpan.FromSeconds(1),
            ScanInterval = TimeSpan.FromSeconds(1),
        };
        options.Include.Add(Path.Combine(Root, pattern));
        options.Labels["job"] = "agent";
        return options;
    }

    protected async Task<TailRun> StartAsync(FileTailOptions options, bool autoAcknowledge = true, GatedSink? gate = null, Action<LogPipeline>? beforeStart = null)
    {
        var source = new FileTailSource(options);
        var sink = gate?.Collected ?? new CollectingSink(autoAcknowledge);
        var pipeline = LogPipeline.Create(new PipelineOptions { TimeProvider = Time, LoggerFactory = new Microsoft.Extensions.Logging.LoggerFactory([Logs]) })
            .From(source, "files").To(gate is null ? sink : gate, "sink").Build();
        beforeStart?.Invoke(pipeline);
        var firstScan = source.NextScan;
        await pipeline.StartAsync();
        return new TailRun(pipeline, source, sink) { FirstScan = firstScan, Context = () => LogText };
    }

    /// <summary>Waits (up to the time-out) for a positions write after which the file satisfies <paramref name="condition"/>.</summary>
    protected async Task WaitForPositionsAsync(FileTailSource source, Func<string, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var next = source.NextPositionsWrite;
            var text = File.Exists(PositionsPath) ? File.ReadAllText(PositionsPath) : string.Empty;
            if (condition(text))
            {
                return;
            }

            Assert.True(clock.Elapsed < WaitLimit, $"positions never matched; last:\n{text}");
            await Task.WhenAny(next, source.PollAsync()).WaitAsync(WaitLimit);
        }
    }

    protected static FileStream OpenAppend(string path) =>
        new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    protected static void WriteNumbers(string file, int from, int to)
    {
        var text = new StringBuilder();
        for (var n = from; n <= to; n++)
        {
            text.Append("line ").Append(n).Append('\n');
        }

        File.AppendAllText(file, text.ToString());
    }

    protected static int Number(string line) => int.Parse(line.AsSpan(5));

    protected static void AssertExactlyOnce(IEnumerable<string> lines, int total, string context = "")
    {
        var numbers = lines.Select(Number).ToList();
        var duplicates = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, $"duplicated: {string.Join(",", duplicates)}\n{context}");
        Assert.Equal(Enumerable.Range(1, total), numbers.Order());
    }

    protected static void Gzip(string path)
    {
        using (var input = File.OpenRead(path))
        using (var output = new GZipStream(File.Create(path + ".gz"), CompressionLevel.Fastest))
        {
            input.CopyTo(output);
        }

        File.Delete(path);
    }

    protected static int OpenDescriptorsUnder(string root)
    {
        var count = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith(root, StringComparison.Ordinal) && !target.Contains(".yaml", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
        }

        return count;
    }

    protected sealed class TailRun(LogPipeline pipeline, FileTailSource source, CollectingSink sink) : IAsyncDisposable
    {
        public FileTailSource Source { get; } = source;

        public CollectingSink Sink { get; } = sink;

        public LogPipeline Pipeline { get; } = pipeline;

        /// <summary>Completes once the source has made its first scan (it knows the files there at start).</summary>
        public required Task FirstScan { get; init; }

        /// <summary>What to show when a wait fails (the source's log).</summary>
        public Func<string> Context { get; init; } = () => string.Empty;

        /// <summary>Drives rounds (no sleeping) until <paramref name="count"/> entries arrived, or 30 s pass.</summary>
        public async Task<IReadOnlyList<CollectedEntry>> WaitForCountAsync(int count, Task? writer = null)
        {
            var arrived = Sink.WaitForCountAsync(count, WaitLimit);
            var clock = Stopwatch.StartNew();
            while (!arrived.IsCompleted)
            {
                if (writer is { IsFaulted: true })
                {
                    await writer;
                }

                Assert.True(clock.Elapsed < WaitLimit, $"Expected {count} entries, got {Sink.Count}.\n{Context()}");
                await Task.WhenAny(arrived, Source.PollAsync()).WaitAsync(WaitLimit);
            }

            if (writer is not null)
            {
                await writer.WaitAsync(WaitLimit);
            }

            return await arrived;
        }

        public async ValueTask DisposeAsync()
        {
            using var cts = new CancellationTokenSource(WaitLimit);
            await Pipeline.StopAsync(cts.Token);
            await Pipeline.DisposeAsync();
        }
    }
}
