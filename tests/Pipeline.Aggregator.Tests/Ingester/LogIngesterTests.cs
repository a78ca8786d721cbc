using Pipeline.Aggregator.Index;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Ingester;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Ingester;

public class LogIngesterTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public async Task Append_ThenRead_ReturnsEntriesInOrderBothDirections()
    {
        using var dir = new TempDir();
        await using var ingester = LogIngester.Open(Options(dir.Path), Clock());
        var labels = Labels("api");
        var t = StartNs;
        var result = await ingester.AppendAsync("t1", Push(labels, Entry(t + 2, "c"), Entry(t, "a"), Entry(t + 1, "b")));
        Assert.Equal(3, result.Accepted);
        Assert.Empty(result.Rejections);

        Assert.Equal(["a", "b", "c"], ReadAll(ingester, "t1", labels).Select(e => e.Line));
        Assert.Equal(["c", "b", "a"], ReadAll(ingester, "t1", labels, Direction.Backward).Select(e => e.Line));
        Assert.Equal(["b"], ReadAll(ingester, "t1", labels, from: t + 1, to: t + 2).Select(e => e.Line));
    }

    [Fact]
    public async Task OutOfOrder_WithinWindowAccepted_OlderRejectedWithLokiMessage()
    {
        using var dir = new TempDir();
        await using var ingester = LogIngester.Open(Options(dir.Path), Clock());
        var labels = Labels("api");
        var t = StartNs;
        await ingester.AppendAsync("t1", Push(labels, Entry(t, "newest")));
        var result = await ingester.AppendAsync("t1", Push(
            labels,
            Entry(t - (59 * 60 * Second), "59 minutes behind"),
            Entry(t - (61 * 60 * Second), "61 minutes behind"),
            Entry(t - (3600 * Second), "exactly one hour behind")));

        Assert.Equal(2, result.Accepted);
        var rejection = Assert.Single(result.Rejections);
        Assert.Equal(0, rejection.StreamIndex);
        Assert.Equal(1, rejection.EntryIndex);
        Assert.Equal(RejectionReason.TooFarBehind, rejection.Reason);
        Assert.Equal(
            "entry too far behind, entry timestamp is: 2026-11-26T08:59:00Z, oldest acceptable timestamp is: 2026-11-26T09:00:00Z",
            rejection.Message);
        Assert.Equal(3, ReadAll(ingester, "t1", labels).Count);

        // Other streams have their own window.
        var other = await ingester.AppendAsync("t1", Push(Labels("web"), Entry(t - (5 * 3600 * Second), "old but first")));
        Assert.Equal(1, other.Accepted);
    }

    [Fact]
    public async Task Duplicates_SameStreamTimestampAndLine_StoredOnce_EvenAcrossFlushAndRestart()
    {
        using var dir = new TempDir();
        var labels = Labels("api");
        var t = StartNs;
        await using (var ingester = LogIngester.Open(Options(dir.Path), Clock()))
        {
            var first = await ingester.AppendAsync("t1", Push(labels, Entry(t, "same"), Entry(t, "same"), Entry(t, "other line"), Entry(t + 1, "same")));
            Assert.Equal(3, first.Accepted);
            Assert.Equal(1, first.Duplicates);

            var retry = await ingester.AppendAsync("t1", Push(labels, Entry(t, "same")));
            Assert.Equal(0, retry.Accepted);
            Assert.Equal(1, retry.Duplicates);

            await ingester.FlushAsync(all: true);
            await ingester.AppendAsync("t1", Push(labels, Entry(t, "same"))); // Retried after the flush: in memory again.
            Assert.Equal(["other line", "same", "same"], ReadAll(ingester, "t1", labels).Select(e => e.Line).Order());
        }

        await using var reopened = LogIngester.Open(Options(dir.Path), Clock());
        Assert.Equal(3, ReadAll(reopened, "t1", labels).Count);
    }

    [Fact]
    public async Task UncleanStop_ReplaysWal_NothingAcknowledgedIsLost()
    {
        using var dir = new TempDir();
        var labels = Labels("api");
        var t = StartNs;
        var ingester = LogIngester.Open(Options(dir.Path), Clock());
        for (var i = 0; i < 100; i++)
        {
            await ingester.AppendAsync(i % 2 == 0 ? "t1" : "t2", Push(labels, Entry(t + i, "line " + i)));
        }

        ingester.Abandon(); // No flush, no clean close.

        await using var reopened = LogIngester.Open(Options(dir.Path), Clock());
        Assert.True(reopened.Replay.IsClean);
        Assert.Equal(100, reopened.Replay.Records);
        Assert.Equal(50, ReadAll(reopened, "t1", labels).Count);
        Assert.Equal(50, ReadAll(reopened, "t2", labels).Count);
        Assert.Equal("line 99", ReadAll(reopened, "t2", labels)[^1].Line);
    }

    [Fact]
    public async Task Replay_AfterFlush_SkipsFlushedEntries_AndCheckpointDeletesSegments()
    {
        using var dir = new TempDir();
        var labels = Labels("api");
        var t = StartNs;
        var ingester = LogIngester.Open(Options(dir.Path, o => new IngesterOptions { DataDirectory = o.DataDirectory, RunBackgroundLoops = false, WalSegmentSize = 4096 }), Clock());
        var random = new Random(9);
        for (var i = 0; i < 20; i++)
        {
            // Random text: the WAL compresses its records, and these must still fill several 4 KiB segments.
            var filler = Convert.ToHexString(Enumerable.Range(0, 250).Select(_ => (byte)random.Next(256)).ToArray());
            await ingester.AppendAsync("t1", Push(labels, Entry(t + i, "before flush " + i + filler)));
        }

        var segmentsBefore = ingester.Wal.SegmentCount;
        Assert.Equal(1, await ingester.FlushAsync(all: true));
        Assert.True(ingester.Wal.SegmentCount < segmentsBefore, "flushed segments are deleted");
        await ingester.AppendAsync("t1", Push(labels, Entry(t + 100, "after flush")));
        ingester.Abandon();

        await using var reopened = LogIngester.Open(Options(dir.Path), Clock());
        var lines = ReadAll(reopened, "t1", labels);
        Assert.Equal(21, lines.Count);
        Assert.Equal("after flush", lines[^1].Line);
    }

    [Fact]
    public async Task Chunks_FlushedOnIdleAndAge_WithFakeClock_ReadBackFromDisk()
    {
        using var dir = new TempDir();
        var clock = Clock();
        await using var ingester = LogIngester.Open(Options(dir.Path), clock);
        var idle = Labels("idle");
        var busy = Labels("busy");
        await ingester.AppendAsync("t1", [Stream(idle, Entry(StartNs, "idle line")), Stream(busy, Entry(StartNs, "busy 0"))]);

        clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(0, await ingester.FlushAsync());
        await ingester.AppendAsync("t1", Push(busy, Entry(StartNs + 1, "busy 1")));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await ingester.FlushAsync()); // idle: 30 minutes without appends

        for (var minute = 0; minute < 90; minute += 20)
        {
            clock.Advance(TimeSpan.FromMinutes(20));
            await ingester.AppendAsync("t1", Push(busy, Entry(StartNs + 2 + minute, "busy " + minute)));
        }

        Assert.Equal(1, await ingester.FlushAsync()); // age: 2 hours since the chunk was created

        var chunkFiles = Directory.GetFiles(Path.Combine(dir.Path, "tenants", "t1", "chunks"), "*.chunk", SearchOption.AllDirectories);
        Assert.Equal(2, chunkFiles.Length);
        Assert.Equal(0, ingester.MemoryBytes);
        Assert.Equal(["idle line"], ReadAll(ingester, "t1", idle).Select(e => e.Line));
        Assert.Equal(7, ReadAll(ingester, "t1", busy).Count);
    }

    [Fact]
    public async Task ChunksAndBlocks_CutBySize_ReadBackAcrossManyBlocks()
    {
        using var dir = new TempDir();
        var options = new IngesterOptions { DataDirectory = dir.Path, RunBackgroundLoops = false, BlockSize = 4096, TargetChunkSize = 16 * 1024 };
        await using var ingester = LogIngester.Open(options, Clock());
        var labels = Labels("api");
        var random = new Random(5);
        var expected = new List<long>();
        for (var batch = 0; batch < 40; batch++)
        {
            var entries = new IngestEntry[50];
            for (var i = 0; i < entries.Length; i++)
            {
                // Out of order inside a 10 s window: blocks overlap in time.
                var ts = StartNs + ((batch * 50) + i) * Second / 10 + random.Next(0, 10) * Second;
                expected.Add(ts);
                entries[i] = Entry(ts, $"pod line {batch}/{i} {Guid.NewGuid()}");
            }

            await ingester.AppendAsync("t1", Push(labels, entries));
        }

        Assert.True(await ingester.FlushAsync() > 1, "several full chunks were cut");
        var forward = ReadAll(ingester, "t1", labels);
        expected.Sort();
        Assert.Equal(expected, forward.Select(e => e.Ts));
        var backward = ReadAll(ingester, "t1", labels, Direction.Backward);
        Assert.Equal(forward.AsEnumerable().Reverse(), backward);
    }

    [Fact]
    public async Task MemoryLimit_LargestHeadsCutToChunkFiles_MemoryNeverPassesTheLimit()
    {
        using var dir = new TempDir();
        var options = new IngesterOptions { DataDirectory = dir.Path, RunBackgroundLoops = false, MemoryLimitBytes = 256 * 1024, BlockSize = 256 * 1024 };
        await using var ingester = LogIngester.Open(options, Clock());
        var line = new string('m', 1000);
        for (var i = 0; i < 400; i++)
        {
            await ingester.AppendAsync("t1", Push(Labels("app" + (i % 4)), Entry(StartNs + i, line + i)));
            Assert.True(ingester.MemoryBytes <= options.MemoryLimitBytes, $"memory {ingester.MemoryBytes} after append {i}");
        }

        // The heads cut early went to their chunk files, not to memory: every entry reads back, before and after the flush.
        Assert.Equal(100, ReadAll(ingester, "t1", Labels("app0")).Count);
        Assert.Equal(4, await ingester.FlushAsync(all: true));
        Assert.Equal(0, ingester.MemoryBytes);
        Assert.Equal(100, ReadAll(ingester, "t1", Labels("app0")).Count);
    }

    [Fact]
    public async Task MemoryLimit_BackgroundLoop_FlushesWithoutBeingAsked()
    {
        using var dir = new TempDir();
        var options = new IngesterOptions { DataDirectory = dir.Path, MemoryLimitBytes = 128 * 1024 };
        await using var ingester = LogIngester.Open(options, Clock());
        var line = new string('m', 1000);
        for (var i = 0; i < 200; i++)
        {
            await ingester.AppendAsync("t1", Push(Labels("api"), Entry(StartNs + i, line + i)));
        }

        await WaitUntil(() => ingester.MemoryBytes <= options.MemoryLimitBytes, "the background flush");
        Assert.Equal(200, ReadAll(ingester, "t1", Labels("api")).Count);
    }

    [Fact]
    public async Task SelectStreams_MatchesMemoryAndFlushed_AndIndexSurvivesRestart()
    {
        using var dir = new TempDir();
        var t = StartNs;
        await using (var ingester = LogIngester.Open(Options(dir.Path), Clock()))
        {
            await ingester.AppendAsync("t1", [
                Stream(Labels("api", "prod"), Entry(t, "1")),
                Stream(Labels("web", "prod"), Entry(t, "2")),
                Stream(Labels("api", "dev"), Entry(t + (10 * Second), "3"))]);
            await ingester.FlushAsync(all: true);
            await ingester.AppendAsync("t1", Push(Labels("db", "prod"), Entry(t, "4")));

            Assert.Equal(
                ["{app=\"api\", namespace=\"prod\"}", "{app=\"db\", namespace=\"prod\"}", "{app=\"web\", namespace=\"prod\"}"],
                ingester.SelectStreams("t1", [LabelMatcher.Equal("namespace", "prod")]).Select(l => l.ToString()));
            Assert.Equal(3, ingester.SelectStreams("t1", [new LabelMatcher("app", LabelMatchType.Regex, "api|db")]).Count);
            Assert.Equal(3, ingester.SelectStreams("t1", [new LabelMatcher("app", LabelMatchType.NotEqual, "web")]).Count);
            Assert.Single(ingester.SelectStreams("t1", [new LabelMatcher("namespace", LabelMatchType.NotRegex, "pro.*")]));
            Assert.Single(ingester.SelectStreams("t1", [LabelMatcher.Equal("app", "api")], t + Second, t + (20 * Second)));
            Assert.Empty(ingester.SelectStreams("t1", [LabelMatcher.Equal("app", "nope")]));
            Assert.Equal(["app", "namespace"], ingester.LabelNames("t1"));
            Assert.Equal(["api", "db", "web"], ingester.LabelValues("t1", "app"));
        }

        await using var reopened = LogIngester.Open(Options(dir.Path), Clock());
        Assert.Equal(4, reopened.SelectStreams("t1", [new LabelMatcher("app", LabelMatchType.Regex, ".+")]).Count);
        Assert.Equal(["1"], ReadAll(reopened, "t1", Labels("api", "prod")).Select(e => e.Line));
    }

    [Fact]
    public async Task AppendQueue_Full_FurtherAppendWaits_ThenFailsOverloaded_NothingOfItStored()
    {
        using var dir = new TempDir();
        var clock = Clock();
        var writer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new IngesterOptions
        {
            DataDirectory = dir.Path,
            RunBackgroundLoops = false,
            MaxQueuedAppends = 2,
            AppendTimeout = TimeSpan.FromSeconds(5),
            WalWriterGate = () => new ValueTask(writer.Task),
        };
        await using var ingester = LogIngester.Open(options, clock);
        var labels = Labels("api");

        // The WAL writer is held: two appends fill the queue, whoever calls (an embedder, concurrently).
        var first = ingester.AppendAsync("t1", Push(labels, Entry(StartNs, "first"))).AsTask();
        var second = ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 1, "second"))).AsTask();
        Assert.Equal(2, ingester.AppendsInFlight);
        var third = ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 2, "third"))).AsTask();
        Assert.False(third.IsCompleted, "the third append waits for room");

        clock.Advance(TimeSpan.FromSeconds(5));
        var refused = await Assert.ThrowsAsync<IngesterOverloadedException>(() => third);
        Assert.Contains("WAL queue stayed full (2 appends waiting for the disk) for 5 s", refused.Message, StringComparison.Ordinal);

        writer.SetResult();
        Assert.Equal(1, (await first).Accepted);
        Assert.Equal(1, (await second).Accepted);
        Assert.Equal(["first", "second"], ReadAll(ingester, "t1", labels).Select(e => e.Line));
        Assert.Equal(0, ingester.AppendsInFlight);

        // Room again: the refused push's retry is stored.
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 2, "third")))).Accepted);
    }

    [Fact]
    public async Task MemoryLimit_BlocksCannotBeWritten_AppendsPushedBack_ThenRecoverOnceWritten()
    {
        using var dir = new TempDir();
        var clock = Clock();
        var diskFull = true;
        var options = new IngesterOptions
        {
            DataDirectory = dir.Path,
            RunBackgroundLoops = false,
            MemoryLimitBytes = 64 * 1024,
            BlockSize = 4096,
            AppendTimeout = TimeSpan.FromSeconds(5),
            ChunkBeforeWrite = () =>
            {
                if (diskFull)
                {
                    throw new IOException("No space left on device");
                }
            },
        };
        await using var ingester = LogIngester.Open(options, clock);
        var labels = Labels("api");
        var random = new Random(11);
        string Line() => Convert.ToHexString(Enumerable.Range(0, 500).Select(_ => (byte)random.Next(256)).ToArray());

        // Cut blocks cannot go to their chunk file: they stay in memory until it passes the limit.
        var stored = 0;
        while (ingester.MemoryBytes <= options.MemoryLimitBytes)
        {
            Assert.True(stored < 1000, "memory should pass the limit");
            await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + stored, Line())));
            stored++;
        }

        var waiting = ingester.AppendAsync("t1", Push(labels, Entry(StartNs + stored, "pushed back"))).AsTask();
        Assert.False(waiting.IsCompleted, "an append waits while memory is over the limit");
        clock.Advance(TimeSpan.FromSeconds(5));
        var refused = await Assert.ThrowsAsync<IngesterOverloadedException>(() => waiting);
        Assert.Contains("stayed over its limit of 65536 bytes for 5 s", refused.Message, StringComparison.Ordinal);
        Assert.Equal(stored, ReadAll(ingester, "t1", labels).Count); // Nothing of the refused append, nothing lost.

        // The disk has room again: the flush writes the blocks out, memory falls, appends go through.
        diskFull = false;
        await ingester.FlushAsync();
        Assert.True(ingester.MemoryBytes <= options.MemoryLimitBytes, $"memory {ingester.MemoryBytes} after the flush");
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + stored, "pushed back")))).Accepted);
        Assert.Equal(stored + 1, ReadAll(ingester, "t1", labels).Count);
        await ingester.FlushAsync(all: true);
        Assert.Equal(stored + 1, ReadAll(ingester, "t1", labels).Count);
    }

    [Fact]
    public async Task Retry_OfAPushStillInTheHead_StoredOnce_InMemoryAndInTheChunkFile()
    {
        using var dir = new TempDir();
        await using var ingester = LogIngester.Open(Options(dir.Path), Clock());
        var labels = Labels("api");
        var push = Push(labels, Entry(StartNs + 1, "b"), Entry(StartNs, "a"), Entry(StartNs + 2, "c"));
        Assert.Equal(3, (await ingester.AppendAsync("t1", push)).Accepted);
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 3, "d")))).Accepted);

        // The client lost the answer and sends the push again: every entry is a duplicate.
        var retry = await ingester.AppendAsync("t1", push);
        Assert.Equal((0, 3), (retry.Accepted, retry.Duplicates));
        Assert.Equal(["a", "b", "c", "d"], ReadAll(ingester, "t1", labels).Select(e => e.Line));

        await ingester.FlushAsync(all: true);
        var file = Assert.Single(Directory.GetFiles(dir.Path, "*.chunk", SearchOption.AllDirectories));
        Assert.Equal(4, ChunkFile.ReadHeader(file, out _).Entries);
        Assert.Equal(["a", "b", "c", "d"], ReadAll(ingester, "t1", labels).Select(e => e.Line));
        Assert.Equal(["d", "c", "b", "a"], ReadAll(ingester, "t1", labels, Direction.Backward).Select(e => e.Line));
    }

    [Fact]
    public async Task InOrderPushes_StoredWithoutReadingTheirEntries_RetriesAndLateEntriesStillChecked()
    {
        using var dir = new TempDir();
        await using var ingester = LogIngester.Open(Options(dir.Path), Clock());
        var labels = Labels("api");
        var first = Push(labels, Entry(StartNs, "a"), Entry(StartNs + 2, "c"));
        var second = Push(labels, Entry(StartNs + 4, "e"), Entry(StartNs + 6, "g"));
        Assert.Equal(2, (await ingester.AppendAsync("t1", first)).Accepted);
        Assert.Equal(2, (await ingester.AppendAsync("t1", second)).Accepted);

        // Both pushes came in order, after everything stored: a retry of either is still found to be duplicates.
        var retry = await ingester.AppendAsync("t1", first);
        Assert.Equal((0, 2), (retry.Accepted, retry.Duplicates));
        var again = await ingester.AppendAsync("t1", second);
        Assert.Equal((0, 2), (again.Accepted, again.Duplicates));

        // A late entry, one with the last entry's timestamp and another line, and one in order again.
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 3, "d")))).Accepted);
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 6, "h")))).Accepted);
        Assert.Equal(1, (await ingester.AppendAsync("t1", Push(labels, Entry(StartNs + 8, "i")))).Accepted);
        Assert.Equal(["a", "c", "d", "e", "g", "h", "i"], ReadAll(ingester, "t1", labels).Select(e => e.Line));

        await ingester.FlushAsync(all: true);
        var file = Assert.Single(Directory.GetFiles(dir.Path, "*.chunk", SearchOption.AllDirectories));
        Assert.Equal(7, ChunkFile.ReadHeader(file, out _).Entries);
        Assert.Equal(["i", "h", "g", "e", "d", "c", "a"], ReadAll(ingester, "t1", labels, Direction.Backward).Select(e => e.Line));
    }
}
