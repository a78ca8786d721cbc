using System.Buffers;

namespace Pipeline.Sources.Files;

/// <summary>
/// Splits a byte stream, presented as successive <see cref="ReadOnlySequence{T}"/> buffers (a <c>PipeReader</c>'s),
/// into lines. It tracks the stream offset just past the last consumed byte, so each returned line has the position a
/// source commits once the line is acknowledged.
/// </summary>
/// <remarks>
/// <para>
/// Lines end with <c>\n</c>; a <c>\r</c> before it is stripped (CRLF). A line without a terminator stays in the
/// buffer (not consumed) until it is completed, or until the caller says the stream is finished
/// (<c>isFinal</c>), when it is returned as the last line.
/// </para>
/// <para>
/// Memory never grows past the maximum line size: once more than <see cref="MaxLineBytes"/> bytes are buffered
/// without a newline, the splitter consumes them (keeping at most <see cref="MaxLineBytes"/> in its own buffer, for
/// <see cref="OversizedLinePolicy.Truncate"/>) and skips everything up to the next newline. The truncated line is
/// returned when that newline arrives, so its position is the end of the whole line and a restart never resumes in
/// the middle of it.
/// </para>
/// </remarks>
internal sealed class LineSplitter : IDisposable
{
    /// <summary>Loki's default maximum line size.</summary>
    public const int DefaultMaxLineBytes = 256 * 1024;

    private readonly OversizedLinePolicy _policy;
    private byte[]? _held;
    private int _heldLength;
    private bool _discarding;
    private long _examined;

    public LineSplitter(int maxLineBytes = DefaultMaxLineBytes, OversizedLinePolicy policy = OversizedLinePolicy.Truncate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        MaxLineBytes = maxLineBytes;
        _policy = policy;
    }

    /// <summary>The maximum line length in bytes, terminator excluded.</summary>
    public int MaxLineBytes { get; }

    /// <summary>The stream offset just past the last consumed byte (the end of the last returned or skipped line).</summary>
    public long Position { get; private set; }

    /// <summary>Whether the last line returned by <see cref="TryReadLine"/> was truncated.</summary>
    public bool LastLineTruncated { get; private set; }

    /// <summary>How many lines were truncated.</summary>
    public long TruncatedLines { get; private set; }

    /// <summary>How many lines were dropped for being too long.</summary>
    public long DroppedLines { get; private set; }

    /// <summary>Whether a partial oversized line is being skipped (its bytes are consumed but the line not yet returned).</summary>
    public bool IsSkipping => _discarding;

    /// <summary>Forgets any partial state and continues at <paramref name="position"/> (a new file, a truncation).</summary>
    /// <param name="position">The stream offset the next buffer starts at.</param>
    public void Reset(long position)
    {
        Position = position;
        _discarding = false;
        _heldLength = 0;
        _examined = 0;
        LastLineTruncated = false;
    }

    /// <summary>Reads the next line from <paramref name="buffer"/>, advancing it past what was consumed.</summary>
    /// <param name="buffer">The unconsumed bytes; on return, what is left.</param>
    /// <param name="isFinal">No more bytes will follow <paramref name="buffer"/>: return an unterminated rest as a line.</param>
    /// <param name="line">The line without its terminator; valid until the buffer is advanced past it.</param>
    /// <returns>Whether a line was read. When <see langword="false"/>, pass the same unconsumed start with more bytes.</returns>
    public bool TryReadLine(ref ReadOnlySequence<byte> buffer, bool isFinal, out ReadOnlySequence<byte> line)
    {
        LastLineTruncated = false;
        while (true)
        {
            if (_discarding)
            {
                if (!SkipOversized(ref buffer, isFinal, out line))
                {
                    return false;
                }

                if (line.Length > 0 || _policy == OversizedLinePolicy.Truncate)
                {
                    return true;
                }

                continue;
            }

            // Fast path: the whole search fits in the first segment (the common case with a PipeReader).
            long index;
            var first = buffer.FirstSpan;
            if (_examined < first.Length)
            {
                var found = first[(int)_examined..].IndexOf((byte)'\n');
                index = found >= 0 ? found + _examined : (buffer.IsSingleSegment ? -1 : Find(buffer, first.Length));
            }
            else
            {
                index = buffer.Length > _examined ? Find(buffer, _examined) : -1;
            }

            if (index >= 0)
            {
                var raw = buffer.Slice(0, index);
                var next = buffer.GetPosition(index + 1);
                Consumed(index + 1);
                if (StripCarriageReturn(ref raw) > MaxLineBytes)
                {
                    buffer = buffer.Slice(next);
                    if (_policy == OversizedLinePolicy.Drop)
                    {
                        DroppedLines++;
                        continue;
                    }

                    line = raw.Slice(0, MaxLineBytes);
                    MarkTruncated();
                    return true;
                }

                line = raw;
                buffer = buffer.Slice(next);
                return true;
            }

            // No newline in the buffer. A line of MaxLineBytes plus a '\r' still fits; anything longer is oversized.
            if (buffer.Length > (long)MaxLineBytes + 1)
            {
                StartSkipping(ref buffer);
                continue;
            }

            if (isFinal && buffer.Length > 0)
            {
                line = buffer;
                var length = buffer.Length;
                buffer = buffer.Slice(buffer.End);
                Consumed(length);
                if (StripCarriageReturn(ref line) > MaxLineBytes)
                {
                    if (_policy == OversizedLinePolicy.Drop)
                    {
                        DroppedLines++;
                        line = default;
                        return false;
                    }

                    line = line.Slice(0, MaxLineBytes);
                    MarkTruncated();
                }

                return true;
            }

            _examined = buffer.Length;
            line = default;
            return false;
        }
    }

    public void Dispose()
    {
        if (_held is not null)
        {
            ArrayPool<byte>.Shared.Return(_held);
            _held = null;
        }
    }

    private static long Find(in ReadOnlySequence<byte> buffer, long from)
    {
        var position = buffer.Slice(from).PositionOf((byte)'\n');
        return position is null ? -1 : buffer.Slice(0, position.Value).Length;
    }

    private static long StripCarriageReturn(ref ReadOnlySequence<byte> line)
    {
        var length = line.Length;
        if (length > 0)
        {
            var last = line.IsSingleSegment ? line.FirstSpan[^1] : line.Slice(length - 1).FirstSpan[0];
            if (last == (byte)'\r')
            {
                line = line.Slice(0, length - 1);
                return length - 1;
            }
        }

        return length;
    }

    private void Consumed(long count)
    {
        Position += count;
        _examined = 0;
    }

    private void MarkTruncated()
    {
        TruncatedLines++;
        LastLineTruncated = true;
    }

    private void StartSkipping(ref ReadOnlySequence<byte> buffer)
    {
        if (_policy == OversizedLinePolicy.Truncate)
        {
            _held ??= ArrayPool<byte>.Shared.Rent(MaxLineBytes);
            buffer.Slice(0, MaxLineBytes).CopyTo(_held);
            _heldLength = MaxLineBytes;
        }

        _discarding = true;
        var length = buffer.Length;
        buffer = buffer.Slice(buffer.End);
        Consumed(length);
    }

    /// <summary>Skips bytes of an oversized line up to and including its newline.</summary>
    /// <returns>Whether the line ended (then <paramref name="line"/> is the truncated line, or empty when dropped).</returns>
    private bool SkipOversized(ref ReadOnlySequence<byte> buffer, bool isFinal, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            var length = buffer.Length;
            buffer = buffer.Slice(buffer.End);
            Consumed(length);
            if (!isFinal)
            {
                line = default;
                return false;
            }
        }
        else
        {
            var next = buffer.GetPosition(1, newline.Value);
            Consumed(buffer.Slice(0, next).Length);
            buffer = buffer.Slice(next);
        }

        _discarding = false;
        if (_policy == OversizedLinePolicy.Drop)
        {
            DroppedLines++;
            line = default;
            return true;
        }

        line = new ReadOnlySequence<byte>(_held!, 0, _heldLength);
        _heldLength = 0;
        MarkTruncated();
        return true;
    }
}
