using System.Diagnostics.CodeAnalysis;
using Pipeline.Model;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// One stream's share of a <see cref="ReceivedPush"/>: stages that decide per stream and request (a per-stream rate
/// limit) read its size and record their decision, so all its entries of the request get the same one.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "A Loki log stream, not a System.IO.Stream.")]
public sealed class PushedStream : PushDecision
{
    internal PushedStream(LabelSet labels) => Labels = labels;

    /// <summary>The stream's labels.</summary>
    public LabelSet Labels { get; }

    /// <summary>Its entries in the request.</summary>
    public int EntryCount { get; internal set; }

    /// <summary>The bytes of their lines.</summary>
    public long LineBytes { get; internal set; }

    /// <summary>Its entries in the request: timestamp and size, for stages that decide on the request as a whole.</summary>
    public IReadOnlyList<PushedEntry> Entries => EntryList;

    internal List<PushedEntry> EntryList { get; } = [];
}
