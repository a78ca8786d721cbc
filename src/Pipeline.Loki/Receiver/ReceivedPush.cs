using Pipeline.Runtime;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// One push request as its entries carry it (<see cref="AckToken.SourceState"/>): stages that decide on a whole request
/// (a tenant rate limit) read its size here and record their decision, so every entry of the request gets the same one.
/// </summary>
public sealed class ReceivedPush
{
    internal ReceivedPush(string? tenant, int entryCount, long lineBytes)
    {
        Tenant = tenant;
        EntryCount = entryCount;
        LineBytes = lineBytes;
    }

    /// <summary>The tenant, or <see langword="null"/> for the sinks' default.</summary>
    public string? Tenant { get; }

    /// <summary>The entries of the request.</summary>
    public int EntryCount { get; }

    /// <summary>The total bytes of its lines (Loki's measure of ingested volume).</summary>
    public long LineBytes { get; }

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
