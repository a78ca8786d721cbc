namespace Pipeline.Aggregator.Ingester;

/// <summary>One entry the ingester refused; the HTTP layer lists these in its 400 answer.</summary>
/// <param name="StreamIndex">Index of the stream in the appended list.</param>
/// <param name="EntryIndex">Index of the entry in its stream.</param>
/// <param name="TimestampNs">The entry's timestamp.</param>
/// <param name="Reason">Why it was refused.</param>
/// <param name="Message">The message Loki gives for it, e.g. <c>entry too far behind, entry timestamp is: ..., oldest acceptable timestamp is: ...</c>.</param>
public sealed record AppendRejection(int StreamIndex, int EntryIndex, long TimestampNs, RejectionReason Reason, string Message);
