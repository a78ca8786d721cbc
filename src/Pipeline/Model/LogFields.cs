using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Pipeline.Model;

/// <summary>
/// A small map of named UTF-8 values owned by one <see cref="LogEntry"/>: the values parse stages extract
/// (Promtail's extracted map) and the entry's structured metadata. Storage is reused when the entry is
/// reused, so setting values on the hot path allocates nothing once warmed up.
/// </summary>
/// <remarks>Names are compared ordinally. Lookups are linear, which beats hashing for the handful of
/// fields a log line carries.</remarks>
public sealed class LogFields
{
    private const int RetainedArenaLimit = 64 * 1024;

    private string[] _names = [];
    private int[] _offsets = [];
    private int[] _lengths = [];
    private byte[] _arena = [];
    private int _arenaUsed;

    /// <summary>The number of fields.</summary>
    public int Count { get; private set; }

    /// <summary>The name of the field at <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based index, in insertion order.</param>
    /// <returns>The name.</returns>
    public string NameAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _names[index];
    }

    /// <summary>The UTF-8 value of the field at <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based index, in insertion order.</param>
    /// <returns>The value bytes, valid until the field set changes.</returns>
    public ReadOnlySpan<byte> ValueAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _arena.AsSpan(_offsets[index], _lengths[index]);
    }

    /// <summary>Sets a field to UTF-8 bytes, replacing any value it had.</summary>
    /// <param name="name">The field name.</param>
    /// <param name="utf8Value">The value.</param>
    public void Set(string name, ReadOnlySpan<byte> utf8Value)
    {
        ArgumentNullException.ThrowIfNull(name);
        var index = IndexOf(name);
        if (index >= 0 && _lengths[index] >= utf8Value.Length)
        {
            // Overwrite in place: Copy handles a value taken from this same field.
            utf8Value.CopyTo(_arena.AsSpan(_offsets[index]));
            _lengths[index] = utf8Value.Length;
            return;
        }

        var offset = Append(utf8Value);
        if (index < 0)
        {
            index = AddSlot(name);
        }

        _offsets[index] = offset;
        _lengths[index] = utf8Value.Length;
    }

    /// <summary>Sets a field to text, stored as UTF-8.</summary>
    /// <param name="name">The field name.</param>
    /// <param name="value">The value.</param>
    public void Set(string name, ReadOnlySpan<char> value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max <= 256)
        {
            Span<byte> buffer = stackalloc byte[256];
            var written = Encoding.UTF8.GetBytes(value, buffer);
            Set(name, (ReadOnlySpan<byte>)buffer[..written]);
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(max);
        var count = Encoding.UTF8.GetBytes(value, rented);
        Set(name, (ReadOnlySpan<byte>)rented.AsSpan(0, count));
        ArrayPool<byte>.Shared.Return(rented);
    }

    /// <summary>Looks up a field's UTF-8 value.</summary>
    /// <param name="name">The field name.</param>
    /// <param name="utf8Value">The value bytes, valid until the field set changes.</param>
    /// <returns>Whether the field is present.</returns>
    public bool TryGetValue(string name, out ReadOnlySpan<byte> utf8Value)
    {
        var index = IndexOf(name);
        if (index < 0)
        {
            utf8Value = default;
            return false;
        }

        utf8Value = _arena.AsSpan(_offsets[index], _lengths[index]);
        return true;
    }

    /// <summary>Looks up a field's value as a string (allocates; for configuration-time and cold paths).</summary>
    /// <param name="name">The field name.</param>
    /// <param name="value">The value.</param>
    /// <returns>Whether the field is present.</returns>
    public bool TryGetString(string name, [NotNullWhen(true)] out string? value)
    {
        if (TryGetValue(name, out var bytes))
        {
            value = Encoding.UTF8.GetString(bytes);
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Whether a field named <paramref name="name"/> is present.</summary>
    /// <param name="name">The field name.</param>
    /// <returns><see langword="true"/> when present.</returns>
    public bool Contains(string name) => IndexOf(name) >= 0;

    /// <summary>Removes a field if present.</summary>
    /// <param name="name">The field name.</param>
    /// <returns>Whether a field was removed.</returns>
    public bool Remove(string name)
    {
        var index = IndexOf(name);
        if (index < 0)
        {
            return false;
        }

        var tail = Count - index - 1;
        Array.Copy(_names, index + 1, _names, index, tail);
        Array.Copy(_offsets, index + 1, _offsets, index, tail);
        Array.Copy(_lengths, index + 1, _lengths, index, tail);
        Count--;
        _names[Count] = null!;
        return true;
    }

    /// <summary>Removes every field, keeping the storage for reuse.</summary>
    public void Clear()
    {
        if (Count == 0 && _arenaUsed == 0)
        {
            return;
        }

        Array.Clear(_names, 0, Count);
        Count = 0;
        _arenaUsed = 0;
        if (_arena.Length > RetainedArenaLimit)
        {
            ArrayPool<byte>.Shared.Return(_arena);
            _arena = [];
        }
    }

    /// <summary>Replaces this map's contents with a copy of <paramref name="source"/>.</summary>
    /// <param name="source">The fields to copy.</param>
    public void CopyFrom(LogFields source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(source, this))
        {
            return;
        }

        Clear();
        for (var i = 0; i < source.Count; i++)
        {
            Set(source._names[i], source.ValueAt(i));
        }
    }

    private int IndexOf(string name)
    {
        var names = _names;
        for (var i = 0; i < Count; i++)
        {
            // Names usually come from the same configuration string, so the reference check hits first.
            if (ReferenceEquals(names[i], name) || string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private int AddSlot(string name)
    {
        if (Count == _names.Length)
        {
            var size = Math.Max(4, Count * 2);
            Array.Resize(ref _names, size);
            Array.Resize(ref _offsets, size);
            Array.Resize(ref _lengths, size);
        }

        _names[Count] = name;
        return Count++;
    }

    private int Append(ReadOnlySpan<byte> value)
    {
        if (_arenaUsed + value.Length > _arena.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(256, Math.Max(_arena.Length * 2, _arenaUsed + value.Length)));
            _arena.AsSpan(0, _arenaUsed).CopyTo(grown);

            // The value may live in the old arena (copying one field to another); copy it before returning the old one.
            value.CopyTo(grown.AsSpan(_arenaUsed));
            if (_arena.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_arena);
            }

            _arena = grown;
        }
        else
        {
            value.CopyTo(_arena.AsSpan(_arenaUsed));
        }

        var offset = _arenaUsed;
        _arenaUsed += value.Length;
        return offset;
    }
}
