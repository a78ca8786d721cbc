using System.Buffers;
using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Tests.Model;

public sealed class LogEntryTests
{
    [Fact]
    public void New_IsEmpty()
    {
        var entry = new LogEntry();

        Assert.Equal(0, entry.Timestamp);
        Assert.Equal(0, entry.LineLength);
        Assert.True(entry.Line.IsEmpty);
        Assert.True(entry.LineMemory.IsEmpty);
        Assert.Same(LabelSet.Empty, entry.Labels);
        Assert.Null(entry.Tenant);
        Assert.True(entry.Ack.IsNone);
        Assert.Equal(0, entry.Metadata.Count);
        Assert.Equal(0, entry.Extracted.Count);
        Assert.Equal("", entry.GetLineString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(70_000)]
    public void SetLine_Span_CopiesBytes(int length)
    {
        var entry = new LogEntry();
        var bytes = Bytes(length, seed: length);

        entry.SetLine(bytes);
        bytes.AsSpan().Clear();

        Assert.Equal(length, entry.LineLength);
        Assert.True(entry.Line.SequenceEqual(Bytes(length, seed: length)));
        Assert.True(entry.LineMemory.Span.SequenceEqual(Bytes(length, seed: length)));
    }

    [Fact]
    public void SetLine_ShorterAfterLonger_ReportsShorterLength()
    {
        var entry = new LogEntry();
        entry.SetLine("a long first line"u8);

        entry.SetLine("short"u8);

        Assert.Equal("short", entry.GetLineString());
        Assert.Equal(5, entry.LineLength);
    }

    [Fact]
    public void SetLine_Chars_EncodesUtf8()
    {
        var entry = new LogEntry();

        entry.SetLine("héllo 漢字 😀".AsSpan());
        Assert.Equal(Encoding.UTF8.GetBytes("héllo 漢字 😀"), entry.Line.ToArray());
        Assert.Equal("héllo 漢字 😀", entry.GetLineString());

        var longText = string.Concat(Enumerable.Repeat("ü😀", 10_000));
        entry.SetLine(longText.AsSpan());
        Assert.Equal(longText, entry.GetLineString());

        entry.SetLine(ReadOnlySpan<char>.Empty);
        Assert.Equal(0, entry.LineLength);
    }

    [Fact]
    public void SetLine_SingleSegmentSequence()
    {
        var entry = new LogEntry();

        entry.SetLine(new ReadOnlySequence<byte>("single segment"u8.ToArray()));

        Assert.Equal("single segment", entry.GetLineString());
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1 })]
    [InlineData(new[] { 0, 5, 0, 7 })]
    [InlineData(new[] { 100, 200, 300 })]
    [InlineData(new[] { 40_000, 40_000, 1 })]
    public void SetLine_MultiSegmentSequence_CopiesAllSegments(int[] segmentLengths)
    {
        var entry = new LogEntry();
        entry.SetLine("previous content that must be replaced"u8);
        var total = segmentLengths.Sum();
        var expected = Bytes(total, seed: 3);
        var sequence = Segments(expected, segmentLengths);
        Assert.False(sequence.IsSingleSegment);

        entry.SetLine(sequence);

        Assert.Equal(total, entry.LineLength);
        Assert.True(entry.Line.SequenceEqual(expected));
    }

    [Fact]
    public void SetLine_SliceOfOwnLine_WithoutGrowth()
    {
        var entry = new LogEntry();
        entry.SetLine("2024-01-01T00:00:00Z stdout F the message"u8);

        entry.SetLine(entry.Line[30..]);
        Assert.Equal("the message", entry.GetLineString());

        entry.SetLine(entry.Line[..3]);
        Assert.Equal("the", entry.GetLineString());

        entry.SetLine(entry.Line);
        Assert.Equal("the", entry.GetLineString());
    }

    [Fact]
    public void SetLine_SliceOfOwnLine_OverlappingTail()
    {
        var entry = new LogEntry();
        var original = Bytes(100_000, seed: 9);
        entry.SetLine(original);

        entry.SetLine(entry.Line[1..]);

        Assert.True(entry.Line.SequenceEqual(original.AsSpan(1)));
    }

    [Fact]
    public void SetLine_FromAnotherEntrysLine_AfterGrowth()
    {
        var source = new LogEntry();
        source.SetLine(Bytes(10_000, seed: 1));
        var target = new LogEntry();
        target.SetLine("tiny"u8);

        target.SetLine(source.Line);

        Assert.True(target.Line.SequenceEqual(source.Line));
    }

    [Fact]
    public void AppendToLine_OwnLine_WithAndWithoutGrowth()
    {
        var entry = new LogEntry();
        entry.SetLine("ab"u8);

        // 2 -> 4 -> ... bytes: the first doublings fit in the initial buffer, later ones grow it.
        var expected = "ab";
        for (var i = 0; i < 12; i++)
        {
            entry.AppendToLine(entry.Line);
            expected += expected;
            Assert.Equal(expected, entry.GetLineString());
        }
    }

    [Fact]
    public void AppendToLine_Growth_PreservesPrefix()
    {
        var entry = new LogEntry();
        var builder = new StringBuilder();
        for (var i = 0; i < 5000; i++)
        {
            var piece = $"part{i};";
            entry.AppendToLine(Encoding.UTF8.GetBytes(piece));
            builder.Append(piece);
        }

        Assert.Equal(builder.ToString(), entry.GetLineString());

        entry.AppendToLine(ReadOnlySpan<byte>.Empty);
        Assert.Equal(builder.Length, entry.LineLength);
    }

    [Fact]
    public void GetLineBuffer_ReturnsSpanOfRequestedLength()
    {
        var entry = new LogEntry();
        entry.SetLine("old"u8);

        var buffer = entry.GetLineBuffer(5);
        Assert.Equal(5, buffer.Length);
        "hello"u8.CopyTo(buffer);
        Assert.Equal("hello", entry.GetLineString());

        var big = entry.GetLineBuffer(100_000);
        Assert.Equal(100_000, big.Length);
        big.Fill((byte)'z');
        Assert.Equal(100_000, entry.LineLength);
        Assert.True(entry.Line.IndexOfAnyExcept((byte)'z') < 0);

        Assert.Equal(0, entry.GetLineBuffer(0).Length);
        Assert.Equal(0, entry.LineLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.GetLineBuffer(-1));
    }

    [Fact]
    public void TruncateLine_Bounds()
    {
        var entry = new LogEntry();
        entry.SetLine("hello world"u8);

        entry.TruncateLine(11);
        Assert.Equal("hello world", entry.GetLineString());

        entry.TruncateLine(5);
        Assert.Equal("hello", entry.GetLineString());

        Assert.Throws<ArgumentOutOfRangeException>(() => entry.TruncateLine(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.TruncateLine(-1));
        Assert.Equal("hello", entry.GetLineString());

        entry.TruncateLine(0);
        Assert.Equal(0, entry.LineLength);
    }

    [Fact]
    public void CopyTo_CopiesEverything()
    {
        var tracker = new AckTracker();
        var source = new LogEntry
        {
            Timestamp = 1_700_000_000_123_456_789,
            Labels = LabelSet.Parse("{job=\"api\"}"),
            Tenant = "team-a",
            Ack = tracker.Track(42),
        };
        source.SetLine("the line"u8);
        source.Metadata.Set("trace_id", "abc123"u8);
        source.Extracted.Set("level", "info"u8);
        source.Extracted.Set("msg", "hi"u8);

        var target = new LogEntry { Tenant = "other" };
        target.SetLine(Bytes(1000, seed: 2));
        target.Metadata.Set("stale", "x"u8);

        source.CopyTo(target);

        Assert.Equal(source.Timestamp, target.Timestamp);
        Assert.Same(source.Labels, target.Labels);
        Assert.Equal("team-a", target.Tenant);
        Assert.Equal("the line", target.GetLineString());
        Assert.Equal(source.Ack, target.Ack);
        Assert.Equal(1, target.Metadata.Count);
        Assert.True(target.Metadata.TryGetString("trace_id", out var trace));
        Assert.Equal("abc123", trace);
        Assert.Equal(2, target.Extracted.Count);
        Assert.True(target.Extracted.TryGetString("msg", out var msg));
        Assert.Equal("hi", msg);

        // Deep copy: changing the source afterwards does not change the target.
        source.SetLine("changed"u8);
        source.Extracted.Set("msg", "changed"u8);
        Assert.Equal("the line", target.GetLineString());
        Assert.True(target.Extracted.TryGetString("msg", out msg));
        Assert.Equal("hi", msg);

        // The copied token acknowledges the same tracked entry.
        target.Ack.Acknowledge();
        Assert.Equal(42, tracker.CommittedPosition);
        Assert.Throws<ArgumentNullException>(() => source.CopyTo(null!));
    }

    [Fact]
    public void ToString_ShowsTimestampLabelsLine()
    {
        var entry = new LogEntry { Timestamp = 5, Labels = LabelSet.Parse("{a=\"b\"}") };
        entry.SetLine("msg"u8);

        Assert.Equal("5 {a=\"b\"} msg", entry.ToString());
    }

    [Fact]
    public void Reuse_FieldSetThenRemoved_DoesNotGrowArenaWithoutBound()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 1);
        var value = new byte[1024];

        // Warm up: the first rounds may allocate the arena once.
        for (var i = 0; i < 4; i++)
        {
            SetAndRemove(pool, value);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 4000; i++)
        {
            SetAndRemove(pool, value);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Each reuse starts from an empty arena, so a 1 KiB field needs no new memory; 4000 rounds without
        // a reset would need a 4 MiB arena.
        Assert.True(allocated < 512 * 1024, $"allocated {allocated} bytes over 4000 reuses");

        static void SetAndRemove(EntryChunkPool pool, byte[] value)
        {
            var chunk = pool.Rent();
            var entry = chunk.Add();
            entry.Extracted.Set("tmp", value);
            entry.Extracted.Remove("tmp");
            chunk.Release();
        }
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int[] lengths)
    {
        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        foreach (var length in lengths)
        {
            var memory = data.AsMemory(offset, length);
            offset += length;
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
