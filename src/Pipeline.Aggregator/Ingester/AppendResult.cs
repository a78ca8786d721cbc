namespace Pipeline.Aggregator.Ingester;

/// <summary>Why the ingester refused an entry.</summary>
public enum RejectionReason
{
    /// <summary>Older than the newest entry of its stream minus half of <c>max_chunk_age</c> (Loki's <c>out_of_order</c>, HTTP 400).</summary>
    TooFarBehind,
}

/// <summary>One entry the ingester refused; the HTTP layer lists these in its 400 answer.</summary>
/// <param name="StreamIndex">Index of the stream in the appended list.</param>
/// <param name="EntryIndex">Index of the entry in its stream.</param>
/// <param name="TimestampNs">The entry's timestamp.</param>
/// <param name="Reason">Why it was refused.</param>
/// <param name="Message">The message Loki gives for it, e.g. <c>entry too far behind, entry timestamp is: ..., oldest acceptable timestamp is: ...</c>.</param>
public sealed record AppendRejection(int StreamIndex, int EntryIndex, long TimestampNs, RejectionReason Reason, string Message);

/// <summary>The outcome of an append: everything not listed in <see cref="Rejections"/> is durable in the WAL.</summary>
public sealed class AppendResult
{
    private static readonly AppendRejection[] s_none = [];

    internal AppendResult(int accepted, int duplicates, IReadOnlyList<AppendRejection>? rejections)
    {
        Accepted = accepted;
        Duplicates = duplicates;
        Rejections = rejections ?? s_none;
    }

    /// <summary>Entries stored (new, not duplicates).</summary>
    public int Accepted { get; }

    /// <summary>Entries identical (stream, timestamp, line) to one already stored, accepted and stored once (as Loki does).</summary>
    public int Duplicates { get; }

    /// <summary>Entries refused, each with the reason; empty when all were accepted.</summary>
    public IReadOnlyList<AppendRejection> Rejections { get; }
}
