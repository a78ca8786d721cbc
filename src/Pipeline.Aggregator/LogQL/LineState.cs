using System.Text;
using Pipeline.LogQL.Formatting;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The line of one entry as it goes through a pipeline: the stored UTF-8 bytes until a stage rewrites it, then a
/// reused buffer of its own; decoded to text only when a stage or the result needs text.
/// </summary>
internal sealed class LineState
{
    private ReadOnlyMemory<byte> _bytes;
    private byte[] _owned = [];
    private string? _text;

    public long Timestamp { get; private set; }

    public bool Rewritten { get; private set; }

    public ReadOnlySpan<byte> Bytes => _bytes.Span;

    public string Text => _text ??= Encoding.UTF8.GetString(_bytes.Span);

    public void Reset(long timestamp, ReadOnlyMemory<byte> bytes)
    {
        Timestamp = timestamp;
        _bytes = bytes;
        _text = null;
        Rewritten = false;
    }

    public void SetText(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        Ensure(length);
        Encoding.UTF8.GetBytes(text, _owned);
        _bytes = _owned.AsMemory(0, length);
        _text = text;
        Rewritten = true;
    }

    public void SetBytes(ReadOnlySpan<byte> utf8)
    {
        Ensure(utf8.Length);
        utf8.CopyTo(_owned);
        _bytes = _owned.AsMemory(0, utf8.Length);
        _text = null;
        Rewritten = true;
    }

    /// <summary>Removes ANSI escape sequences (in the line's own buffer: stored bytes are never written).</summary>
    public void Decolorize()
    {
        if (!Decolorizer.MayHaveEscapes(Bytes))
        {
            return;
        }

        if (!Rewritten)
        {
            SetBytes(Bytes);
        }

        var length = Decolorizer.Strip(_owned.AsSpan(0, _bytes.Length));
        _bytes = _owned.AsMemory(0, length);
        _text = null;
    }

    private void Ensure(int length)
    {
        if (_owned.Length < length)
        {
            _owned = new byte[Math.Max(length, Math.Max(256, _owned.Length * 2))];
        }
    }
}
