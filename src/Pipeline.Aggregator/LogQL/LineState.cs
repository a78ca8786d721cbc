using System.Text;

namespace Pipeline.Aggregator.LogQL;

/// <summary>The line of one entry as it goes through a pipeline: the stored UTF-8 bytes until a stage rewrites it as text.</summary>
internal sealed class LineState
{
    private ReadOnlyMemory<byte> _bytes;
    private string? _text;
    private bool _bytesValid;

    public long Timestamp { get; private set; }

    public bool Rewritten { get; private set; }

    public void Reset(long timestamp, ReadOnlyMemory<byte> bytes)
    {
        Timestamp = timestamp;
        _bytes = bytes;
        _bytesValid = true;
        _text = null;
        Rewritten = false;
    }

    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            if (!_bytesValid)
            {
                _bytes = Encoding.UTF8.GetBytes(_text!);
                _bytesValid = true;
            }

            return _bytes.Span;
        }
    }

    public string Text => _text ??= Encoding.UTF8.GetString(_bytes.Span);

    public void SetText(string text)
    {
        _text = text;
        _bytesValid = false;
        Rewritten = true;
    }
}
