using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Pipeline.Model;
using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class LineSplitterTests
{
    // Inputs use '|' to separate buffer segments; expected lines are joined with ',' ("<empty>" for none).
    [Theory]
    [InlineData("", false, "<empty>", 0)]
    [InlineData("a\n", false, "a", 2)]
    [InlineData("\n\n\n", false, ",,", 3)]
    [InlineData("a\nb", false, "a", 2)]
    [InlineData("a\nb", true, "a,b", 3)]
    [InlineData("a\r\nb\r\n", false, "a,b", 6)]
    [InlineData("\r\n", false, "", 2)]
    [InlineData("a\rb\n", false, "a\rb", 4)]
    [InlineData("a\r", true, "a", 2)]
    [InlineData("ab|cdef|g\nh\n", false, "abcdefg,h", 10)]
    [InlineData("abc\r|\n|x\n", false, "abc,x", 7)]
    [InlineData("a|\n|\nb|c", true, "a,,bc", 5)]
    [InlineData("one\ntw|o\nthr|ee", false, "one,two", 8)]
    public void TryReadLine_SplitsSegmentsIntoLines(string input, bool isFinal, string expected, long position)
    {
        using var splitter = new LineSplitter();
        var lines = SplitAll(splitter, Segments(input.Split('|')), isFinal);

        Assert.Equal(expected, lines.Count == 0 ? "<empty>" : string.Join(",", lines));
        Assert.Equal(position, splitter.Position);
    }

    [Fact]
    public void TryReadLine_LineAcrossThreeSegments_IsReturnedWhole()
    {
        using var splitter = new LineSplitter();
        var buffer = Sequence("first-", "second-", "third\nnext\n");

        Assert.True(splitter.TryReadLine(ref buffer, false, out var line));
        Assert.False(line.IsSingleSegment);
        Assert.Equal("first-second-third", Encoding.UTF8.GetString(line.ToArray()));
        Assert.Equal(19, splitter.Position);
        Assert.True(splitter.TryReadLine(ref buffer, false, out line));
        Assert.Equal("next", Encoding.UTF8.GetString(line.ToArray()));
        Assert.Equal(24, splitter.Position);
    }

    [Fact]
    public void TryReadLine_NoTrailingNewline_HeldUntilCompleted()
    {
        using var splitter = new LineSplitter();
        var first = Sequence("partial");

        Assert.False(splitter.TryReadLine(ref first, false, out _));
        Assert.Equal(7, first.Length);
        Assert.Equal(0, splitter.Position);

        var more = Sequence("partial", " line\n");
        Assert.True(splitter.TryReadLine(ref more, false, out var line));
        Assert.Equal("partial line", Encoding.UTF8.GetString(line.ToArray()));
        Assert.Equal(13, splitter.Position);
    }

    [Theory]
    [InlineData(OversizedLinePolicy.Truncate, 1024 * 1024, "T,short", 1, 0)]
    [InlineData(OversizedLinePolicy.Drop, 1024 * 1024, "short", 0, 1)]
    [InlineData(OversizedLinePolicy.Truncate, 256 * 1024, "L,short", 0, 0)]
    [InlineData(OversizedLinePolicy.Truncate, (256 * 1024) + 1, "T,short", 1, 0)]
    [InlineData(OversizedLinePolicy.Drop, (256 * 1024) + 1, "short", 0, 1)]
    public void TryReadLine_LongLine_TruncatedOrDroppedWithBoundedMemory(OversizedLinePolicy policy, int length, string expected, long truncated, long dropped)
    {
        var input = new byte[length + 7];
        input.AsSpan(0, length).Fill((byte)'x');
        input[length] = (byte)'\n';
        "short\n"u8.CopyTo(input.AsSpan(length + 1));

        using var splitter = new LineSplitter(LineSplitter.DefaultMaxLineBytes, policy);
        var (lines, maxBuffered) = SplitThroughPipe(splitter, input, writeSize: 4096, complete: false);

        var shapes = lines.Select(l => l == "short" ? "short" : l.Length == LineSplitter.DefaultMaxLineBytes && l.All(c => c == 'x') ? (length > l.Length ? "T" : "L") : "?");
        Assert.Equal(expected, string.Join(",", shapes));
        Assert.Equal(truncated, splitter.TruncatedLines);
        Assert.Equal(dropped, splitter.DroppedLines);
        Assert.Equal(input.Length, splitter.Position);
        Assert.True(maxBuffered <= LineSplitter.DefaultMaxLineBytes + 1 + 4096, $"buffered {maxBuffered} bytes");
    }

    [Fact]
    public void TryReadLine_OversizedLineWithoutNewlineAtEnd_TruncatedWhenFinal()
    {
        using var splitter = new LineSplitter(maxLineBytes: 8);
        var buffer = Sequence("0123456789abcdef");

        Assert.False(splitter.TryReadLine(ref buffer, false, out _));
        Assert.True(splitter.IsSkipping);
        Assert.Equal(16, splitter.Position);

        var rest = Sequence("gh");
        Assert.True(splitter.TryReadLine(ref rest, true, out var line));
        Assert.Equal("01234567", Encoding.UTF8.GetString(line.ToArray()));
        Assert.True(splitter.LastLineTruncated);
        Assert.Equal(18, splitter.Position);
    }

    [Fact]
    public void TryReadLine_CrlfLineOfExactlyMaxBytes_IsNotTruncated()
    {
        using var splitter = new LineSplitter(maxLineBytes: 4);
        var lines = SplitAll(splitter, Sequence("abcd\r\nabcde\r\n"), false);

        Assert.Equal(["abcd", "abcd"], lines);
        Assert.Equal(1, splitter.TruncatedLines);
    }

    [Fact]
    public void Reset_ForgetsSkippingAndMovesPosition()
    {
        using var splitter = new LineSplitter(maxLineBytes: 4);
        var buffer = Sequence("0123456789");
        splitter.TryReadLine(ref buffer, false, out _);
        Assert.True(splitter.IsSkipping);

        splitter.Reset(0);
        var next = Sequence("ab\n");
        Assert.True(splitter.TryReadLine(ref next, false, out var line));
        Assert.Equal("ab", Encoding.UTF8.GetString(line.ToArray()));
        Assert.Equal(3, splitter.Position);
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0xFF, 0x62 }, InvalidUtf8Policy.PassThrough, new byte[] { 0x61, 0xFF, 0x62 }, false)]
    [InlineData(new byte[] { 0x61, 0xFF, 0x62 }, InvalidUtf8Policy.Replace, new byte[] { 0x61, 0xEF, 0xBF, 0xBD, 0x62 }, true)]
    [InlineData(new byte[] { 0xE2, 0x82 }, InvalidUtf8Policy.Replace, new byte[] { 0xEF, 0xBF, 0xBD }, true)]
    [InlineData(new byte[] { 0xE2, 0x82, 0xAC }, InvalidUtf8Policy.Replace, new byte[] { 0xE2, 0x82, 0xAC }, false)]
    [InlineData(new byte[] { 0xC0, 0xAF }, InvalidUtf8Policy.Replace, new byte[] { 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD }, true)]
    public void SetLine_InvalidUtf8_PassedThroughOrReplaced(byte[] input, InvalidUtf8Policy policy, byte[] expected, bool replaced)
    {
        var bytes = input.Concat("\n"u8.ToArray()).ToArray();
        using var splitter = new LineSplitter();
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(splitter.TryReadLine(ref buffer, false, out var line));

        var entry = new LogEntry();
        Assert.Equal(replaced, LineText.SetLine(entry, line, policy));
        Assert.Equal(expected, entry.Line.ToArray());
    }

    [Fact]
    public void TryReadLine_ManySmallWrites_SameLinesAsOneBuffer()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 2000; i++)
        {
            text.Append("line ").Append(i).Append(i % 3 == 0 ? "\r\n" : "\n");
            if (i % 97 == 0)
            {
                text.Append('\n');
            }
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        using var whole = new LineSplitter();
        var expected = SplitAll(whole, new ReadOnlySequence<byte>(bytes), false);
        using var streamed = new LineSplitter();
        var (actual, _) = SplitThroughPipe(streamed, bytes, writeSize: 13, complete: false);

        Assert.Equal(expected, actual);
        Assert.Equal(bytes.Length, streamed.Position);
    }

    private static List<string> SplitAll(LineSplitter splitter, ReadOnlySequence<byte> buffer, bool isFinal)
    {
        var lines = new List<string>();
        while (splitter.TryReadLine(ref buffer, isFinal, out var line))
        {
            lines.Add(Encoding.UTF8.GetString(line.ToArray()));
        }

        return lines;
    }

    private static (List<string> Lines, long MaxBuffered) SplitThroughPipe(LineSplitter splitter, byte[] input, int writeSize, bool complete)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 512));
        var lines = new List<string>();
        long maxBuffered = 0;
        for (var offset = 0; offset < input.Length; offset += writeSize)
        {
            pipe.Writer.Write(input.AsSpan(offset, Math.Min(writeSize, input.Length - offset)));
            pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
            Drain(final: false);
        }

        if (complete)
        {
            pipe.Writer.Complete();
            Drain(final: true);
        }

        return (lines, maxBuffered);

        void Drain(bool final)
        {
            Assert.True(pipe.Reader.TryRead(out var result));
            var buffer = result.Buffer;
            maxBuffered = Math.Max(maxBuffered, buffer.Length);
            while (splitter.TryReadLine(ref buffer, final, out var line))
            {
                lines.Add(Encoding.UTF8.GetString(line.ToArray()));
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static ReadOnlySequence<byte> Sequence(params string[] segments) => Segments(segments);

    private static ReadOnlySequence<byte> Segments(string[] parts)
    {
        if (parts.Length == 1)
        {
            return new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(parts[0]));
        }

        var first = new Segment(Encoding.UTF8.GetBytes(parts[0]), 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++)
        {
            last = last.Append(Encoding.UTF8.GetBytes(parts[i]));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
