namespace Pipeline.Aggregator.Ingester;

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
