using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Wal;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Wal;

public class WriteAheadLogTests
{
    [Fact]
    public void Crc32C_KnownVector()
    {
        Assert.Equal(0xE3069283u, Checksum.Crc32C("123456789"u8));
    }

    [Fact]
    public void RecordCodec_RoundTrip_KeepsEverything()
    {
        var metadata = new[] { new Pipeline.Model.Label("trace_id", "abc") };
        var streams = new[]
        {
            new IngestStream(Labels("api"), [new IngestEntry(5, "héllo"u8.ToArray(), metadata), Entry(-3, "")]),
            new IngestStream(Pipeline.Model.LabelSet.Empty, [Entry(long.MaxValue, "x")]),
        };
        using var buffer = new ByteBuffer();
        WalRecordCodec.Encode(buffer, 42, "tenant-1", streams);
        var record = WalRecordCodec.Decode(buffer.WrittenSpan);
        Assert.Equal(42, record.Sequence);
        Assert.Equal("tenant-1", record.Tenant);
        Assert.Equal(2, record.Streams.Count);
        Assert.Equal(Labels("api"), record.Streams[0].Labels);
        Assert.Equal("héllo", Encoding.UTF8.GetString(record.Streams[0].Entries[0].Line.Span));
        Assert.Equal("abc", record.Streams[0].Entries[0].Metadata![0].Value);
        Assert.Equal(-3, record.Streams[0].Entries[1].TimestampNs);
        Assert.Null(record.Streams[0].Entries[1].Metadata);
        Assert.Equal(long.MaxValue, record.Streams[1].Entries[0].TimestampNs);
    }

    [Fact]
    public async Task GroupCommit_EightConcurrentAppenders_ShareOneFsync()
    {
        using var dir = new TempDir();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wal = OpenWal(dir.Path, writerGate: () => new ValueTask(gate.Task));
        // Eight appenders on pool threads; the writer is held at the gate, so all eight are queued before it takes a group.
        var enqueued = Enumerable.Range(0, 8)
            .Select(n => Task.Factory.StartNew(
                () => wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(n, "line " + n))),
                CancellationToken.None,
                TaskCreationOptions.None,
                TaskScheduler.Default))
            .ToArray();
        var durable = await Task.WhenAll(enqueued);
        Assert.Equal(8, wal.QueuedCount);
        Assert.All(durable, d => Assert.False(d.IsCompleted));
        gate.SetResult();
        await Task.WhenAll(durable);

        Assert.True(wal.FsyncCount < 8, $"fsync count {wal.FsyncCount} should be below the 8 appends");
        Assert.InRange(wal.FsyncCount, 1, 2);
        await wal.DisposeAsync();
        var replayed = new List<WalRecord>();
        await using var reopened = OpenWal(dir.Path, apply: replayed.Add);
        Assert.Equal(8, replayed.Count);
    }

    [Fact]
    public async Task GroupCommit_TwoQueuedAppends_AreDurableWithOneFsync()
    {
        using var dir = new TempDir();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stored = new List<int>();
        await using var wal = OpenWal(dir.Path, writerGate: () => new ValueTask(gate.Task));
        var first = wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(1, "one")), () => stored.Add(1));
        var second = wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("b"), Entry(2, "two")), () => stored.Add(2));
        Assert.Equal(2, wal.QueuedCount);
        gate.SetResult();
        await Task.WhenAll(first, second);

        Assert.Equal(1, wal.FsyncCount);
        Assert.Equal([1, 2], stored);
    }

    [Fact]
    public async Task GroupCommit_FailedFsync_FailsEveryAppendOfTheGroup_NoneStored_LaterAppendsStillWork()
    {
        using var dir = new TempDir();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failFsync = true;
        var stored = new List<int>();
        await using var wal = WriteAheadLog.Open(
            new WalOptions
            {
                Directory = dir.Path,
                WriterGate = () => new ValueTask(gate.Task),
                BeforeFsync = () =>
                {
                    if (failFsync)
                    {
                        failFsync = false;
                        throw new IOException("injected fsync failure");
                    }
                },
            },
            TimeProvider.System,
            NullLogger.Instance,
            0,
            _ => { },
            out _);
        var first = wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(1, "one")), () => stored.Add(1));
        var second = wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("b"), Entry(2, "two")), () => stored.Add(2));
        gate.SetResult();

        var one = await Assert.ThrowsAsync<IOException>(() => first);
        var two = await Assert.ThrowsAsync<IOException>(() => second);
        Assert.Contains("injected fsync failure", one.Message, StringComparison.Ordinal);
        Assert.Contains("injected fsync failure", two.Message, StringComparison.Ordinal);
        Assert.Empty(stored);
        Assert.Equal(0, wal.FsyncCount);

        await wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("c"), Entry(3, "three")), () => stored.Add(3));
        Assert.Equal([3], stored);
        Assert.Equal(1, wal.FsyncCount);
    }

    [Fact]
    public async Task IntervalPolicy_AppendCompletesOnWrite_FsyncOnTick()
    {
        using var dir = new TempDir();
        var clock = Clock();
        await using var wal = WriteAheadLog.Open(
            new WalOptions { Directory = dir.Path, FsyncPolicy = WalFsyncPolicy.Interval, FsyncInterval = TimeSpan.FromSeconds(1) },
            clock,
            NullLogger.Instance,
            0,
            _ => { },
            out _);
        await wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(1, "x")));
        Assert.Equal(0, wal.FsyncCount);
        await WaitUntil(
            () =>
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                return wal.FsyncCount == 1;
            },
            "interval fsync");
    }

    [Fact]
    public async Task Replay_TornLastRecord_IsCutAndReported_EarlierRecordsKept()
    {
        using var dir = new TempDir();
        await WriteRecords(dir.Path, 5);
        var segment = Directory.GetFiles(dir.Path, "*.wal").Single(f => new FileInfo(f).Length > 0);
        var length = new FileInfo(segment).Length;
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.SetLength(length - 3);
        }

        var replayed = new List<WalRecord>();
        WalReplayResult result;
        await using (var wal = OpenWal(dir.Path, apply: replayed.Add, result: r => result = r))
        {
        }

        var replay = LastResult!;
        Assert.Equal(4, replayed.Count);
        Assert.Equal([0L, 1, 2, 3], replayed.Select(r => r.Sequence));
        var corruption = Assert.Single(replay.Corruptions);
        Assert.Contains("torn", corruption.Reason, StringComparison.Ordinal);
        Assert.Equal(corruption.Offset, new FileInfo(segment).Length);

        // The cut segment replays cleanly next time.
        replayed.Clear();
        await using var again = OpenWal(dir.Path, apply: replayed.Add);
        Assert.True(LastResult!.IsClean);
        Assert.Equal(4, replayed.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(12345)]
    public async Task Replay_FlippedRandomBytes_CutAtLastGoodRecord(int seed)
    {
        using var dir = new TempDir();
        var offsets = await WriteRecords(dir.Path, 6);
        var segment = Directory.GetFiles(dir.Path, "*.wal").Single(f => new FileInfo(f).Length > 0);
        var bytes = File.ReadAllBytes(segment);
        var random = new Random(seed);

        // Damage record 3 (0-based): flip bytes somewhere in it, header or payload.
        var start = offsets[3];
        var end = offsets[4];
        for (var i = 0; i < 3; i++)
        {
            bytes[random.Next((int)start, (int)end)] ^= (byte)random.Next(1, 256);
        }

        File.WriteAllBytes(segment, bytes);
        var replayed = new List<WalRecord>();
        await using (OpenWal(dir.Path, apply: replayed.Add))
        {
        }

        Assert.Equal([0L, 1, 2], replayed.Select(r => r.Sequence));
        var corruption = Assert.Single(LastResult!.Corruptions);
        Assert.Equal(start, corruption.Offset);
        Assert.Equal(bytes.Length - start, corruption.BytesCut);
        Assert.Equal(start, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task Rotation_BySize_ThenCheckpointDeletesOldSegments()
    {
        using var dir = new TempDir();
        await using var wal = OpenWal(dir.Path, segmentSize: 4096);
        // Records are compressed: random text keeps each one larger than a segment.
        var random = new Random(3);
        for (var i = 0; i < 5; i++)
        {
            var big = Convert.ToHexString(Enumerable.Range(0, 3000).Select(_ => (byte)random.Next(256)).ToArray());
            await wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(i, big)));
        }

        Assert.Equal(6, wal.SegmentCount); // Each record filled a segment; a new empty one is current.
        Assert.Equal(3, wal.DeleteSegmentsBefore(3));
        Assert.Equal(3, wal.SegmentCount);
        Assert.Equal(3, Directory.GetFiles(dir.Path, "*.wal").Length);
    }

    private static WalReplayResult? LastResult { get; set; }

    private static WriteAheadLog OpenWal(
        string dir,
        Func<ValueTask>? writerGate = null,
        Action<WalRecord>? apply = null,
        Action<WalReplayResult>? result = null,
        long segmentSize = 64 << 20)
    {
        var wal = WriteAheadLog.Open(
            new WalOptions { Directory = dir, WriterGate = writerGate, SegmentSize = segmentSize },
            TimeProvider.System,
            NullLogger.Instance,
            0,
            apply ?? (_ => { }),
            out var replay);
        LastResult = replay;
        result?.Invoke(replay);
        return wal;
    }

    /// <summary>Writes records one group each; returns the offset of each record in the segment.</summary>
    private static async Task<List<long>> WriteRecords(string dir, int count)
    {
        var offsets = new List<long>();
        await using var wal = OpenWal(dir);
        var segment = Directory.GetFiles(dir, "*.wal").Single();
        for (var i = 0; i < count; i++)
        {
            offsets.Add(new FileInfo(segment).Length);
            await wal.Enqueue(wal.ReserveSequence(), "t", Push(Labels("a"), Entry(i, $"record {i} " + new string('r', 40))));
        }

        offsets.Add(new FileInfo(segment).Length);
        return offsets;
    }
}
