using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// What the appender keeps of a WAL record it wrote, for storing it once durable without decompressing it: the record's
/// streams in order, and each stream's entries uncompressed (a range of one buffer) with their timestamp order.
/// </summary>
internal sealed class LiveSections
{
    private readonly List<(int Start, int Length, SectionOrder Order)> _sections = [];

    public List<StreamState> Streams { get; } = [];

    /// <summary>The entries of every stream, one after the other.</summary>
    public ByteBuffer Entries { get; } = new(64 * 1024);

    public void Add(StreamState stream, int start, SectionOrder order)
    {
        Streams.Add(stream);
        _sections.Add((start, Entries.Length - start, order));
    }

    public SectionOrder Order(int index) => _sections[index].Order;

    public ReadOnlyMemory<byte> Section(int index) => Entries.WrittenMemory.Slice(_sections[index].Start, _sections[index].Length);

    public void Clear()
    {
        Streams.Clear();
        _sections.Clear();
        Entries.Clear();
    }
}
