using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Runtime;
using Pipeline.Sources.Files;
using Pipeline.Testing;

namespace Pipeline.Tests.Sources.Files;

public sealed class FileTailSourceTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "tail-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));

    public FileTailSourceTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string PositionsPath => Path.Combine(_root, "positions.yaml");

    private Microsoft.Extensions.Logging.Testing.FakeLoggerProvider Logs { get; } = new();

    private string LogText => string.Join("\n", Logs.Collector.GetSnapshot().Select(r => $"{r.Level} {r.Message}"));

    [Fact]
    public async Task Tail_ExistingKubeletFile_ReadsWholeFileWithLabels()
    {
        var file = Path.Combine(_root, "var/log/pods/prod_api_uid-1/api/0.log");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "one\r\ntwo\n\nthree\n");

        await using var run = await StartAsync(Options("var/log/pods/*/*/*.log"));
        var entries = await run.WaitForCountAsync(4);

        Assert.Equal(["one", "two", "", "three"], entries.Select(e => e.Line));
        var labels = entries[0].Labels;
        Assert.Equal(file, labels["filename"]);
        Assert.Equal("prod", labels["namespace"]);
        Assert.Equal("api", labels["pod"]);
        Assert.Equal("api", labels["container"]);
        Assert.Equal("uid-1", labels[FileDiscovery.PodUidLabel]);
        Assert.Equal("agent", labels["job"]);
    }

    [Fact]
    public async Task Tail_PartialLine_HeldUntilCompleted()
    {
        var file = Path.Combine(_root, "app.log");
        File.WriteAllText(file, "first\npart");

        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(1);
        await run.Source.PollAsync();
        Assert.Equal(["first"], run.Sink.Lines);

        File.AppendAllText(file, "ial\n");
        var entries = await run.WaitForCountAsync(2);
        Assert.Equal(["first", "partial"], entries.Select(e => e.Line));
    }

    [Fact]
    public async Task TailFromEnd_ExistingLinesSkipped_NewFilesReadWhole()
    {
        var existing = Path.Combine(_root, "old.log");
        File.WriteAllText(existing, "old 1\nold 2\n");
        var options = Options("*.log");
        options.TailFromEnd = true;

        await using var run = await StartAsync(options);
        await run.Source.PollAsync();
        File.AppendAllText(existing, "new 1\n");
        File.WriteAllText(Path.Combine(_root, "later.log"), "later 1\n");
        var entries = await run.WaitForCountAsync(2);

        Assert.Equal(["later 1", "new 1"], entries.Select(e => e.Line).Order());
    }

    [Fact]
    public async Task Rotation_RenameThenCreateLikeKubelet_EveryNumberExactlyOnce()
    {
        var directory = Path.Combine(_root, "var/log/pods/ns_pod_uid/c");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "0.log");
        File.WriteAllText(file, string.Empty);
        const int total = 3000;

        await using var run = await StartAsync(Options("var/log/pods/*/*/*.log"));
        var writer = Task.Run(async () =>
        {
            string? previous = null;
            var stream = OpenAppend(file);
            for (var n = 1; n <= total; n++)
            {
                stream.Write(Encoding.UTF8.GetBytes($"line {n}\n"));
                if (n % 500 == 0 && n < total)
                {
                    stream.Dispose();

                    // Like kubelet: only rotate a file the agent has started on, rename it, start a new 0.log, and
                    // gzip the previous rotation (the newest rotated file stays uncompressed).
                    await run.Sink.WaitForCountAsync(n - 499, s_timeout);
                    var rotated = $"{file}.{n:D8}";
                    File.Move(file, rotated);
                    stream = OpenAppend(file);
                    if (previous is not null)
                    {
                        Gzip(previous);
                    }

                    previous = rotated;
                }
            }

            stream.Dispose();
        });

        var entries = await run.WaitForCountAsync(total, writer);

        AssertExactlyOnce(entries.Select(e => e.Line), total, LogText);
        await run.Source.PollAsync();
        await run.Source.PollAsync();
        Assert.Equal(1, run.Source.OpenHandleCount);
        Assert.Equal(4, Directory.GetFiles(directory, "*.gz").Length);
    }

    [Fact]
    public async Task Rotation_CopyTruncate_EveryNumberExactlyOnce()
    {
        var file = Path.Combine(_root, "app.log");
        File.WriteAllText(file, string.Empty);
        const int total = 3000;

        await using var run = await StartAsync(Options("*.log"));
        var writer = Task.Run(async () =>
        {
            using var stream = OpenAppend(file);
            for (var n = 1; n <= total; n++)
            {
                stream.Write(Encoding.UTF8.GetBytes($"line {n}\n"));
                if (n % 700 == 0)
                {
                    // logrotate copytruncate with a reader that keeps up: copy, then cut the file to 0 in place.
                    // (The unavoidable window: lines written after the agent's last read and before the truncation
                    // exist only in the copy; a caught-up reader, as here, has nothing in that window.)
                    await run.Sink.WaitForCountAsync(n, s_timeout);
                    File.Copy(file, $"{file}.{n}");
                    stream.SetLength(0);
                }
            }
        });

        var entries = await run.WaitForCountAsync(total, writer);

        AssertExactlyOnce(entries.Select(e => e.Line), total);
    }

    [Fact]
    public async Task Deleted_ReadToEndThenHandleReleased()
    {
        var files = Enumerable.Range(0, 3).Select(i => Path.Combine(_root, $"f{i}.log")).ToArray();
        foreach (var file in files)
        {
            File.WriteAllText(file, "a\n");
        }

        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(3);
        Assert.True(3 == run.Source.OpenHandleCount, LogText);
        Assert.Equal(3, OpenDescriptorsUnder(_root));

        File.AppendAllText(files[0], "last words\nno newline");
        File.Delete(files[0]);
        var entries = await run.WaitForCountAsync(5);
        await run.Source.PollAsync();
        await run.Source.PollAsync();

        Assert.Equal(["last words", "no newline"], entries.Skip(3).Select(e => e.Line));
        Assert.True(2 == run.Source.OpenHandleCount, LogText);
        Assert.Equal(2, OpenDescriptorsUnder(_root));
    }

    [Fact]
    public async Task InodeReuse_FingerprintMismatch_StartsAtZero()
    {
        var file = Path.Combine(_root, "reused.log");
        File.WriteAllText(file, "fresh 1\nfresh 2\n");
        Assert.True(FileStat.TryStat(file, out var status));
        var stale = new FileFingerprint(FileFingerprint.Compute("an older file's first bytes"u8), 27);
        new PositionsFile(PositionsPath, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
            .Save([new PositionEntry(file, 8, status.Identity, stale)]);

        await using var run = await StartAsync(Options("*.log"));
        var entries = await run.WaitForCountAsync(2);

        Assert.Equal(["fresh 1", "fresh 2"], entries.Select(e => e.Line));
    }

    [Fact]
    public async Task StoredPosition_SameFile_ResumesAtOffset()
    {
        var file = Path.Combine(_root, "resume.log");
        File.WriteAllText(file, "done 1\nnew 2\n");
        Assert.True(FileStat.TryStat(file, out var status));
        using (var handle = File.OpenHandle(file))
        {
            new PositionsFile(PositionsPath, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
                .Save([new PositionEntry(file, 7, status.Identity, FileFingerprint.Read(handle))]);
        }

        await using var run = await StartAsync(Options("*.log"));
        var entries = await run.WaitForCountAsync(1);
        await run.Source.PollAsync();

        Assert.Equal(["new 2"], run.Sink.Lines);
    }

    [Fact]
    public async Task Positions_WrittenAsAcknowledgementsArriveFromAcknowledgedNotRead()
    {
        var file = Path.Combine(_root, "acked.log");
        File.WriteAllText(file, "a\nbb\n");
        var options = Options("*.log");
        options.SyncPeriod = TimeSpan.FromHours(1);

        await using var run = await StartAsync(options, autoAcknowledge: false);
        await run.WaitForCountAsync(2);
        await WaitForPositionsAsync(run.Source, text => text.Contains($"\"{file}\": \"0\"", StringComparison.Ordinal));

        // No time passes: the write follows the acknowledgement, not the sync period.
        run.Sink.AcknowledgePending();
        await WaitForPositionsAsync(run.Source, text => text.Contains($"\"{file}\": \"5\"", StringComparison.Ordinal));
        Assert.InRange(run.Source.PositionsWrites, 2, 10);
    }

    [Fact]
    public async Task Positions_SharedFileOfTwoSources_KeepsBothSourcesProgress()
    {
        var app = Path.Combine(_root, "app.log");
        var web = Path.Combine(_root, "web.txt");
        WriteNumbers(app, 1, 3);
        WriteNumbers(web, 1, 5);
        var appSource = new FileTailSource(Options("*.log"));
        var webSource = new FileTailSource(Options("*.txt"));
        var sink = new CollectingSink();
        var pipeline = LogPipeline.Create(new PipelineOptions { TimeProvider = _time })
            .From(appSource, "app").From(webSource, "web").To(sink).Build();
        await pipeline.StartAsync();
        var arrived = sink.WaitForCountAsync(8, s_timeout);
        while (!arrived.IsCompleted)
        {
            await appSource.PollAsync();
            await webSource.PollAsync();
        }

        await pipeline.StopAsync();
        await pipeline.Completion.WaitAsync(s_timeout);

        var positions = File.ReadAllText(PositionsPath);
        Assert.Contains($"\"{app}\": \"{new FileInfo(app).Length}\"", positions);
        Assert.Contains($"\"{web}\": \"{new FileInfo(web).Length}\"", positions);
    }

    [Fact]
    public async Task Targets_ListTailedFilesWithReadAndCommittedPositions()
    {
        var file = Path.Combine(_root, "targets.log");
        WriteNumbers(file, 1, 10);

        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(10);
        await run.Sink.WaitForCountAsync(10);
        _time.Advance(TimeSpan.FromSeconds(2));
        await run.Source.PollAsync();

        var target = Assert.Single(run.Source.Targets);
        Assert.Equal(file, target.Path);
        Assert.Equal(new FileInfo(file).Length, target.ReadPosition);
        Assert.Equal(new FileInfo(file).Length, target.CommittedPosition);
        Assert.Equal("reading", target.State);
        Assert.Equal("agent", target.Labels["job"]);
    }

    [Fact]
    public async Task Restart_LastBatchUnacked_EveryNumberArrivesDuplicatesOnlyFromUnacked()
    {
        var file = Path.Combine(_root, "restart.log");
        WriteNumbers(file, 1, 1000);
        var options = Options("*.log");

        var first = await StartAsync(options, autoAcknowledge: false);
        await first.WaitForCountAsync(1000);
        first.Sink.AcknowledgePending();
        WriteNumbers(file, 1001, 1500);
        await first.WaitForCountAsync(1500);

        // Stop with the last 500 delivered but never acknowledged (an endpoint that never answered).
        await first.DisposeAsync();
        WriteNumbers(file, 1501, 2000);

        await using var second = await StartAsync(options);
        var again = await second.WaitForCountAsync(1000);
        await second.Source.PollAsync();

        var firstNumbers = first.Sink.Lines.Select(Number).ToList();
        var secondNumbers = second.Sink.Lines.Select(Number).ToList();
        Assert.Equal(Enumerable.Range(1, 2000), firstNumbers.Concat(secondNumbers).Distinct().Order());
        Assert.Equal(Enumerable.Range(1001, 1000), secondNumbers);
        Assert.All(firstNumbers.Intersect(secondNumbers), n => Assert.InRange(n, 1001, 1500));
    }

    [Fact]
    public async Task CorruptPositions_MovedAsideAndStartPolicyEndApplies()
    {
        File.WriteAllBytes(PositionsPath, new byte[32]);
        var file = Path.Combine(_root, "c.log");
        File.WriteAllText(file, "before\n");
        var options = Options("*.log");
        options.CorruptPositionsStart = FileStartPolicy.End;

        await using var run = await StartAsync(options);
        await run.Source.PollAsync();
        File.AppendAllText(file, "after\n");
        var entries = await run.WaitForCountAsync(1);

        Assert.Equal(["after"], entries.Select(e => e.Line));
        Assert.Single(Directory.GetFiles(_root, "positions.yaml.corrupt-*"));
    }

    [Fact]
    public async Task OpenFileLimit_AllFilesReadWithBoundedHandles()
    {
        for (var i = 0; i < 6; i++)
        {
            File.WriteAllText(Path.Combine(_root, $"many{i}.log"), $"file {i}\n");
        }

        var options = Options("*.log");
        options.MaxOpenFiles = 2;

        await using var run = await StartAsync(options);
        var entries = await run.WaitForCountAsync(6);

        Assert.Equal(6, entries.Select(e => e.Line).Distinct().Count());
        Assert.True(run.Source.OpenHandleCount <= 2);
        Assert.True(OpenDescriptorsUnder(_root) <= 2);
        File.AppendAllText(Path.Combine(_root, "many0.log"), "more\n");
        await run.WaitForCountAsync(7);
    }

    [Fact]
    public async Task IdleHandle_ClosedAfterTimeoutAndReopenedByIdentity()
    {
        var file = Path.Combine(_root, "idle.log");
        File.WriteAllText(file, "a\n");
        var options = Options("*.log");
        options.IdleTimeout = TimeSpan.FromMinutes(1);

        await using var run = await StartAsync(options);
        await run.WaitForCountAsync(1);
        Assert.Equal(1, run.Source.OpenHandleCount);
        _time.Advance(TimeSpan.FromMinutes(2));
        await run.Source.PollAsync();
        Assert.Equal(0, run.Source.OpenHandleCount);

        File.AppendAllText(file, "b\n");
        var entries = await run.WaitForCountAsync(2);
        Assert.Equal(["a", "b"], entries.Select(e => e.Line));
        Assert.Equal(1, run.Source.OpenHandleCount);
    }

    [Fact]
    public async Task LongLine_TruncatedAndCounted()
    {
        var file = Path.Combine(_root, "long.log");
        File.WriteAllText(file, new string('x', 5000) + "\nshort\n");
        var options = Options("*.log");
        options.MaxLineBytes = 1000;

        await using var run = await StartAsync(options);
        var entries = await run.WaitForCountAsync(2);

        Assert.Equal(1000, entries[0].Line.Length);
        Assert.Equal("short", entries[1].Line);
        Assert.Equal(1, run.Source.TruncatedLines);
    }

    [Fact]
    public void Options_Invalid_ThrowNamingTheSetting()
    {
        Assert.Contains("Include", Assert.Throws<ArgumentException>(() => new FileTailSource(new FileTailOptions())).Message);
        var options = Options("*.log");
        options.MaxOpenFiles = 0;
        Assert.Equal("MaxOpenFiles", Assert.Throws<ArgumentOutOfRangeException>(() => new FileTailSource(options)).ParamName);
        options = Options("*.log");
        options.PollInterval = TimeSpan.Zero;
        Assert.Equal("PollInterval", Assert.Throws<ArgumentOutOfRangeException>(() => new FileTailSource(options)).ParamName);
        options = Options("{a,b");
        Assert.Contains("unterminated", Assert.Throws<ArgumentException>(() => new FileTailSource(options)).Message);
    }

    private FileTailOptions Options(string pattern)
    {
        var options = new FileTailOptions
        {
            PositionsPath = PositionsPath,
            UseFileSystemWatcher = false,
            PollInterval = TimeSpan.FromSeconds(1),
            ScanInterval = TimeSpan.FromSeconds(1),
        };
        options.Include.Add(Path.Combine(_root, pattern));
        options.Labels["job"] = "agent";
        return options;
    }

    private async Task<TailRun> StartAsync(FileTailOptions options, bool autoAcknowledge = true)
    {
        var source = new FileTailSource(options);
        var sink = new CollectingSink(autoAcknowledge);
        var pipeline = LogPipeline.Create(new PipelineOptions { TimeProvider = _time, LoggerFactory = new Microsoft.Extensions.Logging.LoggerFactory([Logs]) }).From(source, "files").To(sink, "sink").Build();
        await pipeline.StartAsync();
        return new TailRun(pipeline, source, sink);
    }

    /// <summary>Waits (up to the time-out) for a positions write after which the file satisfies <paramref name="condition"/>.</summary>
    private async Task WaitForPositionsAsync(FileTailSource source, Func<string, bool> condition)
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

            Assert.True(clock.Elapsed < s_timeout, $"positions never matched; last:\n{text}");
            await Task.WhenAny(next, source.PollAsync()).WaitAsync(s_timeout);
        }
    }

    private static FileStream OpenAppend(string path) =>
        new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    private static void WriteNumbers(string file, int from, int to)
    {
        var text = new StringBuilder();
        for (var n = from; n <= to; n++)
        {
            text.Append("line ").Append(n).Append('\n');
        }

        File.AppendAllText(file, text.ToString());
    }

    private static int Number(string line) => int.Parse(line.AsSpan(5));

    private static void AssertExactlyOnce(IEnumerable<string> lines, int total, string context = "")
    {
        var numbers = lines.Select(Number).ToList();
        var duplicates = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, $"duplicated: {string.Join(",", duplicates)}\n{context}");
        Assert.Equal(Enumerable.Range(1, total), numbers.Order());
    }

    private static void Gzip(string path)
    {
        using (var input = File.OpenRead(path))
        using (var output = new GZipStream(File.Create(path + ".gz"), CompressionLevel.Fastest))
        {
            input.CopyTo(output);
        }

        File.Delete(path);
    }

    private static int OpenDescriptorsUnder(string root)
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

    private sealed class TailRun(LogPipeline pipeline, FileTailSource source, CollectingSink sink) : IAsyncDisposable
    {
        public FileTailSource Source { get; } = source;

        public CollectingSink Sink { get; } = sink;

        /// <summary>Drives rounds (no sleeping) until <paramref name="count"/> entries arrived, or 30 s pass.</summary>
        public async Task<IReadOnlyList<CollectedEntry>> WaitForCountAsync(int count, Task? writer = null)
        {
            var arrived = Sink.WaitForCountAsync(count, s_timeout);
            var clock = Stopwatch.StartNew();
            while (!arrived.IsCompleted)
            {
                if (writer is { IsFaulted: true })
                {
                    await writer;
                }

                Assert.True(clock.Elapsed < s_timeout, $"Expected {count} entries, got {Sink.Count}.");
                await Task.WhenAny(arrived, Source.PollAsync()).WaitAsync(s_timeout);
            }

            if (writer is not null)
            {
                await writer.WaitAsync(s_timeout);
            }

            return await arrived;
        }

        public async ValueTask DisposeAsync()
        {
            using var cts = new CancellationTokenSource(s_timeout);
            await pipeline.StopAsync(cts.Token);
            await pipeline.DisposeAsync();
        }
    }
}
