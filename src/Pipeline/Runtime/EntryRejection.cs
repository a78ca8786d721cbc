namespace Pipeline.Runtime;

/// <summary>How an entry was refused, which decides what its source answers (a push receiver's HTTP status).</summary>
public enum RejectionKind
{
    /// <summary>The entry itself is wrong (too long, too old, bad labels): retrying it cannot help (HTTP 400).</summary>
    Invalid,

    /// <summary>A rate or stream limit refused it: the client may retry later (HTTP 429).</summary>
    Limited,

    /// <summary>Storing it failed (an I/O error, the store unavailable): the client should retry (HTTP 5xx).</summary>
    Failed,
}

/// <summary>
/// Why a stage or sink refused an entry: carried back to the entry's source with the acknowledgement
/// (<see cref="AckToken.Acknowledge(EntryRejection)"/>, <see cref="StageResult.Reject"/>), so a source that answers a
/// client can say what was refused. Share one instance between the entries refused for the same cause.
/// </summary>
public sealed class EntryRejection
{
    /// <summary>Creates a rejection.</summary>
    /// <param name="kind">How the entry was refused.</param>
    /// <param name="reason">A short, fixed reason such as <c>line_too_long</c>: it becomes a metric tag.</param>
    /// <param name="message">What was wrong, for the client, e.g. Loki's wording.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> or <paramref name="message"/> is empty.</exception>
    public EntryRejection(RejectionKind kind, string reason, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        ArgumentException.ThrowIfNullOrEmpty(message);
        Kind = kind;
        Reason = reason;
        Message = message;
    }

    /// <summary>How the entry was refused.</summary>
    public RejectionKind Kind { get; }

    /// <summary>The metric reason, e.g. <c>line_too_long</c>.</summary>
    public string Reason { get; }

    /// <summary>What was wrong, for the client.</summary>
    public string Message { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} ({Reason}): {Message}";
}
