namespace Pipeline.Aggregator.Ingester;

/// <summary>Why the ingester refused an entry.</summary>
public enum RejectionReason
{
    /// <summary>Older than the newest entry of its stream minus half of <c>max_chunk_age</c> (Loki's <c>out_of_order</c>, HTTP 400).</summary>
    TooFarBehind,
}
