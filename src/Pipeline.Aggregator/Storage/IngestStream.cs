using System.Diagnostics.CodeAnalysis;
using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>The entries of one stream of a push: the stream's labels and its entries, in any order.</summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "A Loki log stream, not a System.IO.Stream.")]
public sealed class IngestStream
{
    /// <summary>Creates a stream of a push.</summary>
    /// <param name="labels">The stream's labels (already validated by the distributor).</param>
    /// <param name="entries">The entries.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public IngestStream(LabelSet labels, IReadOnlyList<IngestEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(entries);
        Labels = labels;
        Entries = entries;
    }

    /// <summary>The stream's labels.</summary>
    public LabelSet Labels { get; }

    /// <summary>The entries.</summary>
    public IReadOnlyList<IngestEntry> Entries { get; }
}
