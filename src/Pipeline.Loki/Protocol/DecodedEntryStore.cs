using System.Buffers;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// The entries of all streams of one decoded push, in one pooled array that grows as they are parsed (each stream is a
/// range of it), so decoding allocates no list per stream; returned with the push.
/// </summary>
internal sealed class DecodedEntryStore
{
    private const int InitialCapacity = 256;

    // An entry takes at least this many bytes of protobuf with a line of ordinary length: sizing the store from the
    // message's length lets a usual push be decoded without growing (and copying) the array.
    private const int TypicalEntryBytes = 160;
    private const int MaxInitialCapacity = 64 * 1024;

    private DecodedEntry[] _entries;

    /// <summary>Creates a store for the entries of a message of <paramref name="messageLength"/> bytes (0 when unknown).</summary>
    public DecodedEntryStore(int messageLength = 0)
    {
        _entries = ArrayPool<DecodedEntry>.Shared.Rent(Math.Clamp(messageLength / TypicalEntryBytes, InitialCapacity, MaxInitialCapacity));
    }

    public int Count { get; private set; }

    public ReadOnlySpan<DecodedEntry> Slice(int start, int count) => _entries.AsSpan(start, count);

    public ArraySegment<DecodedEntry> Segment(int start, int count) => new(_entries, start, count);

    public void Add(in DecodedEntry entry)
    {
        if (Count == _entries.Length)
        {
            var grown = ArrayPool<DecodedEntry>.Shared.Rent(_entries.Length * 2);
            _entries.AsSpan(0, Count).CopyTo(grown);
            _entries.AsSpan(0, Count).Clear();
            ArrayPool<DecodedEntry>.Shared.Return(_entries);
            _entries = grown;
        }

        _entries[Count++] = entry;
    }

    public void Return()
    {
        var entries = Interlocked.Exchange(ref _entries, []);
        if (entries.Length > 0)
        {
            // Cleared (the part used): the entries point into the push's buffer, which goes back to its pool too.
            entries.AsSpan(0, Count).Clear();
            ArrayPool<DecodedEntry>.Shared.Return(entries);
        }
    }
}
