namespace Pipeline.Runtime;

/// <summary>What a function stage decided for one entry: keep it (possibly changed) or drop it with a reason.</summary>
public readonly struct StageResult : IEquatable<StageResult>
{
    private StageResult(string reason) => DropReason = reason;

    /// <summary>Keep the entry and pass it to the next stage.</summary>
    public static StageResult Keep => default;

    /// <summary>Why the entry was dropped (the <c>reason</c> tag of the dropped metric), or <see langword="null"/> when kept.</summary>
    public string? DropReason { get; }

    /// <summary>Whether the entry is dropped.</summary>
    public bool IsDrop => DropReason is not null;

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

    /// <inheritdoc/>
    public bool Equals(StageResult other) => string.Equals(DropReason, other.DropReason, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StageResult other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => DropReason?.GetHashCode(StringComparison.Ordinal) ?? 0;

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
    public override string ToString() => IsDrop ? $"Drop({DropReason})" : "Keep";
}
