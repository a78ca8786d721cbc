using System.Text;
using Pipeline.Runtime;
using Pipeline.Sources.Files;
using Pipeline.Testing;

namespace Pipeline.Tests.Sources.Files;

public sealed class FileTailSourceTests : FileTailTestBase
{
    [Fact]
    public async Task Tail_ExistingKubeletFile_ReadsWholeFileWithLabels()
    {
        var file = Path.Combine(Root, "var/log/pods/prod_api_uid-1/api/0.log");
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
        var file = Path.Combine(Root, "app.log");
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
        var existing = Path.Combine(Root, "old.log");
        File.WriteAllText(existing, "old 1\nold 2\n");
        var options = Options("*.log");
        options.TailFromEnd = true;

        await using var run = await StartAsync(options);
        await run.Source.PollAsync();
        File.AppendAllText(existing, "new 1\n");
        File.WriteAllText(Path.Combine(Root, "later.log"), "later 1\n");
        var entries = await run.WaitForCountAsync(2);

        Assert.Equal(["later 1", "new 1"], entries.Select(e => e.Line).Order());
    }

    [Fact]
    public async Task Rotation_RenameThenCreateLikeKubelet_EveryNumberExactlyOnce()
    {
        var directory = Path.Combine(Root, "var/log/pods/ns_pod_uid/c");
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
                    await run.Sink.WaitForCountAsync(n - 499, WaitLimit);
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
        var file = Path.Combine(Root, "app.log");
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
                    await run.Sink.WaitForCountAsync(n, WaitLimit);
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
        var files = Enumerable.Range(0, 3).Select(i => Path.Combine(Root, $"f{i}.log")).ToArray();
        foreach (var file in files)
        {
            File.WriteAllText(file, "a\n");
        }

        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(3);
        Assert.True(3 == run.Source.OpenHandleCount, LogText);
        Assert.Equal(3, OpenDescriptorsUnder(Root));

        File.AppendAllText(files[0], "last words\nno newline");
        File.Delete(files[0]);
        var entries = await run.WaitForCountAsync(5);
        await run.Source.PollAsync();
        await run.Source.PollAsync();

        Assert.Equal(["last words", "no newline"], entries.Skip(3).Select(e => e.Line));
        Assert.True(2 == run.Source.OpenHandleCount, LogText);
        Assert.Equal(2, OpenDescriptorsUnder(Root));
    }

    [Fact]
    public async Task InodeReuse_FingerprintMismatch_StartsAtZero()
    {
        var file = Path.Combine(Root, "reused.log");
        File.WriteAllText(file, "fresh 1\nfresh 2\n");
        Assert.True(FileStat.TryStat(file, out var status));
        var stale = new FileFingerprint(FileFingerprint.Compute("an older file's first bytes"u8), 27);
        new PositionsFile(PositionsPath, Time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
            .Save([new PositionEntry(file, 8, status.Identity, stale)]);

        await using var run = await StartAsync(Options("*.log"));
        var entries = await run.WaitForCountAsync(2);

        Assert.Equal(["fresh 1", "fresh 2"], entries.Select(e => e.Line));
    }

    [Fact]
    public async Task StoredPosition_SameFile_ResumesAtOffset()
    {
        var file = Path.Combine(Root, "resume.log");
        File.WriteAllText(file, "done 1\nnew 2\n");
        Assert.True(FileStat.TryStat(file, out var status));
        using (var handle = File.OpenHandle(file))
        {
            new PositionsFile(PositionsPath, Time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
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
        var file = Path.Combine(Root, "acked.log");
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
        var app = Path.Combine(Root, "app.log");
        var web = Path.Combine(Root, "web.txt");
        WriteNumbers(app, 1, 3);
        WriteNumbers(web, 1, 5);
        var appSource = new FileTailSource(Options("*.log"));
        var webSource = new FileTailSource(Options("*.txt"));
        var sink = new CollectingSink();
        var pipeline = LogPipeline.Create(new PipelineOptions { TimeProvider = Time })
            .From(appSource, "app").From(webSource, "web").To(sink).Build();
        await pipeline.StartAsync();
        var arrived = sink.WaitForCountAsync(8, WaitLimit);
        while (!arrived.IsCompleted)
        {
            await appSource.PollAsync();
            await webSource.PollAsync();
        }

        await pipeline.StopAsync();
        await pipeline.Completion.WaitAsync(WaitLimit);

        var positions = File.ReadAllText(PositionsPath);
        Assert.Contains($"\"{app}\": \"{new FileInfo(app).Length}\"", positions);
        Assert.Contains($"\"{web}\": \"{new FileInfo(web).Length}\"", positions);
    }

    [Fact]
    public async Task Targets_ListTailedFilesWithReadAndCommittedPositions()
    {
        var file = Path.Combine(Root, "targets.log");
        WriteNumbers(file, 1, 10);

        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(10);
        await run.Sink.WaitForCountAsync(10);
        Time.Advance(TimeSpan.FromSeconds(2));
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
        var file = Path.Combine(Root, "restart.log");
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
        var file = Path.Combine(Root, "c.log");
        File.WriteAllText(file, "before\n");
        var options = Options("*.log");
        options.CorruptPositionsStart = FileStartPolicy.End;

        await using var run = await StartAsync(options);
        await run.Source.PollAsync();
        File.AppendAllText(file, "after\n");
        var entries = await run.WaitForCountAsync(1);

        Assert.Equal(["after"], entries.Select(e => e.Line));
        Assert.Single(Directory.GetFiles(Root, "positions.yaml.corrupt-*"));
    }

    [Fact]
    public async Task OpenFileLimit_AllFilesReadWithBoundedHandles()
    {
        for (var i = 0; i < 6; i++)
        {
            File.WriteAllText(Path.Combine(Root, $"many{i}.log"), $"file {i}\n");
        }

        var options = Options("*.log");
        options.MaxOpenFiles = 2;

        await using var run = await StartAsync(options);
        var entries = await run.WaitForCountAsync(6);

        Assert.Equal(6, entries.Select(e => e.Line).Distinct().Count());
        Assert.True(run.Source.OpenHandleCount <= 2);
        Assert.True(OpenDescriptorsUnder(Root) <= 2);
        File.AppendAllText(Path.Combine(Root, "many0.log"), "more\n");
        await run.WaitForCountAsync(7);
    }

    [Fact]
    public async Task IdleHandle_ClosedAfterTimeoutAndReopenedByIdentity()
    {
        var file = Path.Combine(Root, "idle.log");
        File.WriteAllText(file, "a\n");
        var options = Options("*.log");
        options.IdleTimeout = TimeSpan.FromMinutes(1);

        await using var run = await StartAsync(options);
        await run.WaitForCountAsync(1);
        Assert.Equal(1, run.Source.OpenHandleCount);
        Time.Advance(TimeSpan.FromMinutes(2));
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
        var file = Path.Combine(Root, "long.log");
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
}
