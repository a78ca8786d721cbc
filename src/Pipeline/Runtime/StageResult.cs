using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>What a function stage decided for one entry: keep it (possibly changed) or drop it with a reason.</summary>
public readonly struct StageResult : IEquatable<StageResult>
{
    private const string AbsorbedMarker = "\0absorbed";

    private StageResult(string reason, EntryRejection? rejection = null)
    {
        _reason = reason;
        _rejection = rejection;
    }

    private readonly string? _reason;
    private readonly EntryRejection? _rejection;

    /// <summary>Keep the entry and pass it to the next stage.</summary>
    public static StageResult Keep => default;

    /// <summary>
    /// The stage took the entry into its own keeping (a partial line held until its final piece arrives): it leaves
    /// the flow without being counted as dropped, and its acknowledgement is the stage's to carry on (merge its
    /// <see cref="LogEntry.Ack"/> into the entry that will stand for it, with <see cref="AckToken.Merge"/>).
    /// </summary>
    public static StageResult Absorb => new(AbsorbedMarker);

    /// <summary>Why the entry was dropped (the <c>reason</c> tag of the dropped metric), or <see langword="null"/> when kept or absorbed.</summary>
    public string? DropReason => IsAbsorbed ? null : _reason;

    /// <summary>Whether the entry is dropped.</summary>
    public bool IsDrop => _reason is not null && !IsAbsorbed;

    /// <summary>Whether the stage absorbed the entry (see <see cref="Absorb"/>).</summary>
    public bool IsAbsorbed => ReferenceEquals(_reason, AbsorbedMarker);

    /// <summary>Whether the entry leaves the flow here (dropped or absorbed).</summary>
    internal bool Removes => _reason is not null;

    /// <summary>
    /// Drop the entry: it is acknowledged to its source (nothing further will deliver it) and counted as dropped.
    /// </summary>
    /// <param name="reason">A short, fixed reason such as <c>"drop_stage"</c> or <c>"rate_limited"</c>; use a constant, as it becomes a metric tag.</param>
    /// <returns>The result.</returns>
    public static StageResult Drop(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new StageResult(reason);
    }

    /// <summary>
    /// Refuse the entry (a validation or limit stage): it is dropped and counted under the rejection's reason, and its
    /// source learns why (<see cref="AckToken.Complete(EntryRejection)"/>), so a push receiver can answer the client.
    /// </summary>
    /// <param name="rejection">Why; share one instance between entries refused for the same cause.</param>
    /// <returns>The result.</returns>
    public static StageResult Reject(EntryRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        return new StageResult(rejection.Reason, rejection);
    }

    /// <summary>Why the entry was refused, when the stage rejected it (<see cref="Reject"/>).</summary>
    public EntryRejection? Rejection => _rejection;

    /// <inheritdoc/>
    public bool Equals(StageResult other) => string.Equals(_reason, other._reason, StringComparison.Ordinal) && ReferenceEquals(_rejection, other._rejection);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StageResult other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _reason?.GetHashCode(StringComparison.Ordinal) ?? 0;

    /// <summary>Compares two results.</summary>
    /// <param name="left">One result.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(StageResult left, StageResult right) => left.Equals(right);

    /// <summary>Compares two results.</summary>
    /// <param name="left">One result.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(StageResult left, StageResult right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => IsAbsorbed ? "Absorb" : _rejection is not null ? $"Reject({DropReason})" : IsDrop ? $"Drop({DropReason})" : "Keep";
}
