namespace Pipeline.Aggregator.Distributor;

/// <summary>What a push came to: the HTTP status (204, 400 or 429) and, unless 204, the message listing what was refused.</summary>
/// <param name="StatusCode">204 when everything was stored, 400 when some entries were invalid, 429 when a rate or stream limit refused some or all.</param>
/// <param name="Message">What was refused, one line each; empty for 204.</param>
/// <param name="Accepted">Entries stored (including duplicates of stored ones).</param>
/// <param name="Rejected">Entries refused.</param>
public sealed record PushOutcome(int StatusCode, string Message, int Accepted, int Rejected);
