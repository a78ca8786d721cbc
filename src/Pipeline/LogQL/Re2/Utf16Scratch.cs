using System.Runtime.InteropServices;
using System.Text;

namespace Pipeline.LogQL.Re2;

/// <summary>
/// A reusable UTF-16 buffer for running a .NET <see cref="System.Text.RegularExpressions.Regex"/> with groups over
/// UTF-8 bytes: the regex API returns groups only for string input, so the bytes are decoded into a private string
/// that is overwritten for every line, instead of allocating a new string per line.
/// </summary>
/// <remarks>
/// The string is never handed out beyond one match: callers read group spans (<c>ValueSpan</c>) and copy them before
/// the next <see cref="Load"/>. Invalid UTF-8 decodes to U+FFFD, as Go's regexp treats it.
/// </remarks>
internal sealed class Utf16Scratch
{
    // Grown on first use (a filter that never runs a regex never needs it); never written while empty.
    private string _buffer = string.Empty;

    /// <summary>The buffer; only the first <see cref="Length"/> characters are meaningful.</summary>
    public string Buffer => _buffer;

    /// <summary>The number of decoded characters.</summary>
    public int Length { get; private set; }

    /// <summary>Decodes <paramref name="utf8"/> into the buffer.</summary>
    public void Load(ReadOnlySpan<byte> utf8)
    {
        var max = utf8.Length; // UTF-16 never needs more units than UTF-8 has bytes.
        if (max > _buffer.Length)
        {
            _buffer = new string('\0', Math.Max(max, Math.Max(256, _buffer.Length * 2)));
        }

        // Writing into our own, never-shared string: see the remarks.
        var target = MemoryMarshal.AsMemory(_buffer.AsMemory()).Span;
        Length = Encoding.UTF8.GetChars(utf8, target);
    }
}
