using System.Diagnostics.CodeAnalysis;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// A stream as a store hands it to the query engine: its labels, plus whatever the store needs to read it
/// back (derive from this class to carry chunk references).
/// </summary>
[SuppressMessage("Naming", "CA1711", Justification = "A Loki stream, not a System.IO.Stream.")]
public class StoredStream
{
    /// <summary>Creates a stream handle.</summary>
    /// <param name="labels">The stream's labels.</param>
    public StoredStream(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        Labels = labels;
    }

    /// <summary>The stream's labels.</summary>
    public LabelSet Labels { get; }
}
