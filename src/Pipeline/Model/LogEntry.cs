using System.Buffers;
using System.Text;
using Pipeline.Runtime;

namespace Pipeline.Model;

/// <summary>
/// One log line on its way through the pipeline: a Unix-nanosecond timestamp, the line as UTF-8 bytes, the
/// stream's labels and tenant, structured metadata, the values parse stages extracted, and the token that
/// acknowledges it back to its source.
/// </summary>
/// <remarks>
/// Entries live in pooled <see cref="EntryChunk"/>s and are reused: a stage or sink must not keep a reference
/// to an entry, or to a span over its line, after it has handed the chunk on or released it. The line buffer is
/// owned by the entry and reused, so setting a line allocates nothing once warmed up.
/// </remarks>
public sealed class LogEntry
{
    private const int MinimumLineBuffer = 256;
    private const int RetainedLineLimit = 64 * 1024;

    private byte[] _line = [];
    private int _lineLength;

    /// <summary>Creates an empty entry (timestamp 0, empty line, no labels).</summary>
    public LogEntry()
    {
    }

    /// <summary>Timestamp as Unix nanoseconds (CRI lines carry nanoseconds; <see cref="DateTime"/> does not).</summary>
    public long Timestamp { get; set; }

    /// <summary>The stream's labels. Stages that change labels assign a new set.</summary>
    public LabelSet Labels { get; set; } = LabelSet.Empty;

    /// <summary>The tenant the entry belongs to, or <see langword="null"/> for the sink's default tenant.</summary>
    public string? Tenant { get; set; }

    /// <summary>The line as UTF-8 bytes, valid until the line is changed or the entry reused.</summary>
    public ReadOnlySpan<byte> Line => _line.AsSpan(0, _lineLength);

    /// <summary>The line as memory, for encoders that wrap it without copying (same lifetime as <see cref="Line"/>).</summary>
    public ReadOnlyMemory<byte> LineMemory => _line.AsMemory(0, _lineLength);

    /// <summary>
    /// The line's bytes, writable, for stages that edit it in place without changing its length (use
    /// <see cref="TruncateLine"/> to shorten it after). Only a stage may write: once the entry reaches sinks it is shared.
    /// </summary>
    public Span<byte> WritableLine => _line.AsSpan(0, _lineLength);

    /// <summary>The length of the line in bytes.</summary>
    public int LineLength => _lineLength;

    /// <summary>Structured metadata sent with the entry (Loki 3's per-entry metadata), such as a trace id.</summary>
    public LogFields Metadata { get; } = new();

    /// <summary>Values that parse stages extracted for later stages (Promtail's extracted map).</summary>
    public LogFields Extracted { get; } = new();

    /// <summary>The token that acknowledges this entry to its source.</summary>
    public AckToken Ack { get; set; }

    /// <summary>Replaces the line with a copy of <paramref name="utf8"/> (which may be a span of this line).</summary>
    /// <param name="utf8">The new line, UTF-8.</param>
    public void SetLine(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > _line.Length)
        {
            var grown = RentLine(utf8.Length);
            utf8.CopyTo(grown);
            ReturnLine();
            _line = grown;
        }
        else
        {
            utf8.CopyTo(_line);
        }

        _lineLength = utf8.Length;
    }

    /// <summary>Replaces the line with a copy of a possibly multi-segment sequence.</summary>
    /// <param name="utf8">The new line, UTF-8.</param>
    public void SetLine(in ReadOnlySequence<byte> utf8)
    {
        if (utf8.IsSingleSegment)
        {
            SetLine(utf8.FirstSpan);
            return;
        }

        var length = checked((int)utf8.Length);
        utf8.CopyTo(GetLineBuffer(length));
    }

    /// <summary>Replaces the line with <paramref name="text"/>, encoded as UTF-8.</summary>
    /// <param name="text">The new line.</param>
    public void SetLine(ReadOnlySpan<char> text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (max > _line.Length)
        {
            var grown = RentLine(max);
            ReturnLine();
            _line = grown;
        }

        _lineLength = Encoding.UTF8.GetBytes(text, _line);
    }

    /// <summary>Appends bytes to the line (for stages that join partial lines).</summary>
    /// <param name="utf8">The bytes to append.</param>
    public void AppendToLine(ReadOnlySpan<byte> utf8)
    {
        var length = _lineLength + utf8.Length;
        if (length > _line.Length)
        {
            var grown = RentLine(Math.Max(length, _line.Length * 2));
            _line.AsSpan(0, _lineLength).CopyTo(grown);
            utf8.CopyTo(grown.AsSpan(_lineLength));
            ReturnLine();
            _line = grown;
        }
        else
        {
            utf8.CopyTo(_line.AsSpan(_lineLength));
        }

        _lineLength = length;
    }

    /// <summary>
    /// Sets the line length to <paramref name="length"/> and returns the buffer to fill, for producers that write
    /// the line directly. The previous content is not preserved.
    /// </summary>
    /// <param name="length">The new line length in bytes.</param>
    /// <returns>A span of exactly <paramref name="length"/> bytes.</returns>
    public Span<byte> GetLineBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > _line.Length)
        {
            var grown = RentLine(length);
            ReturnLine();
            _line = grown;
        }

        _lineLength = length;
        return _line.AsSpan(0, length);
    }

    /// <summary>Shortens the line to its first <paramref name="length"/> bytes.</summary>
    /// <param name="length">The new length, at most the current length.</param>
    public void TruncateLine(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _lineLength);
        _lineLength = length;
    }

    /// <summary>The line decoded as text (allocates: for tests, diagnostics and cold paths).</summary>
    /// <returns>The line.</returns>
    public string GetLineString() => Encoding.UTF8.GetString(Line);

    /// <summary>Copies everything, including the acknowledgement token, into <paramref name="target"/>.</summary>
    /// <param name="target">The entry to overwrite.</param>
    public void CopyTo(LogEntry target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.Timestamp = Timestamp;
        target.Labels = Labels;
        target.Tenant = Tenant;
        target.SetLine(Line);
        target.Metadata.CopyFrom(Metadata);
        target.Extracted.CopyFrom(Extracted);
        target.Ack = Ack;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Timestamp} {Labels} {GetLineString()}";

    /// <summary>Clears the entry for reuse, keeping buffers of ordinary size.</summary>
    internal void Reset()
    {
        Timestamp = 0;
        Labels = LabelSet.Empty;
        Tenant = null;
        Ack = default;
        _lineLength = 0;
        if (_line.Length > RetainedLineLimit)
        {
            ReturnLine();
            _line = [];
        }

        Metadata.Clear();
        Extracted.Clear();
    }

    private static byte[] RentLine(int length) => ArrayPool<byte>.Shared.Rent(Math.Max(length, MinimumLineBuffer));

    private void ReturnLine()
    {
        if (_line.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_line);
        }
    }
}
