using System.Diagnostics.CodeAnalysis;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// One push request as its entries carry it (<see cref="AckToken.SourceState"/>): stages that decide on a whole request
/// (a tenant rate limit) read its size here and record their decision, so every entry of the request gets the same one.
/// </summary>
public sealed class ReceivedPush
{
    private readonly Dictionary<LabelSet, PushedStream> _streams;

    internal ReceivedPush(string? tenant, int entryCount, long lineBytes, Dictionary<LabelSet, PushedStream> streams)
    {
        Tenant = tenant;
        EntryCount = entryCount;
        LineBytes = lineBytes;
        _streams = streams;
    }

    /// <summary>The tenant, or <see langword="null"/> for the sinks' default.</summary>
    public string? Tenant { get; }

    /// <summary>The entries of the request.</summary>
    public int EntryCount { get; }

    /// <summary>The total bytes of its lines (Loki's measure of ingested volume).</summary>
    public long LineBytes { get; }

    /// <summary>The request's entries of one stream (by the labels its entries carry as they leave the receiver).</summary>
    /// <param name="labels">The stream's labels.</param>
    /// <param name="stream">The stream's share of the request, when it has entries in it.</param>
    /// <returns>Whether the request has entries of that stream.</returns>
    public bool TryGetStream(LabelSet labels, [NotNullWhen(true)] out PushedStream? stream) => _streams.TryGetValue(labels, out stream);

    /// <summary>Whether a stage has decided on the whole request (see <see cref="Refusal"/>).</summary>
    public bool Decided { get; private set; }

    /// <summary>Why a stage refused the whole request, or <see langword="null"/> when it admitted it (or none decided).</summary>
    public EntryRejection? Refusal { get; private set; }

    /// <summary>Records a stage's decision on the whole request; only the first decision counts.</summary>
    /// <param name="refusal">Why the request is refused, or <see langword="null"/> to admit it.</param>
    /// <returns>The decision in force: <paramref name="refusal"/>, or the earlier decision.</returns>
    public EntryRejection? Decide(EntryRejection? refusal)
    {
        if (!Decided)
        {
            Decided = true;
            Refusal = refusal;
        }

        return Refusal;
    }
}

/// <summary>
/// One stream's share of a <see cref="ReceivedPush"/>: stages that decide per stream and request (a per-stream rate
/// limit) read its size and record their decision, so all its entries of the request get the same one.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "A Loki log stream, not a System.IO.Stream.")]
public sealed class PushedStream
{
    internal PushedStream(LabelSet labels) => Labels = labels;

    /// <summary>The stream's labels.</summary>
    public LabelSet Labels { get; }

    /// <summary>Its entries in the request.</summary>
    public int EntryCount { get; internal set; }

    /// <summary>The bytes of their lines.</summary>
    public long LineBytes { get; internal set; }

    /// <summary>Whether a stage has decided on the stream's entries of this request.</summary>
    public bool Decided { get; private set; }

    /// <summary>Why a stage refused them, or <see langword="null"/> when admitted (or none decided).</summary>
    public EntryRejection? Refusal { get; private set; }

    /// <summary>Records a stage's decision on the stream's entries of this request; only the first decision counts.</summary>
    /// <param name="refusal">Why they are refused, or <see langword="null"/> to admit them.</param>
    /// <returns>The decision in force.</returns>
    public EntryRejection? Decide(EntryRejection? refusal)
    {
        if (!Decided)
        {
            Decided = true;
            Refusal = refusal;
        }

        return Refusal;
    }
}
