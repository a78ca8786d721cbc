namespace Pipeline.Runtime;

/// <summary>
/// Where an entry came from, for at-least-once delivery: acknowledging the token tells the source's
/// <see cref="AckTracker"/> that one sink is done with the entry. A token may cover a run of consecutive
/// source entries (a multiline or CRI-partial join), or several runs merged by <see cref="Merge"/>.
/// </summary>
public readonly struct AckToken : IEquatable<AckToken>
{
    private readonly object? _owner;
    private readonly long _first;
    private readonly long _last;

    internal AckToken(AckTracker tracker, long first, long last)
    {
        _owner = tracker;
        _first = first;
        _last = last;
    }

    private AckToken(AckToken[] group)
    {
        _owner = group;
    }

    /// <summary>A token that tracks nothing (entries from sources without positions).</summary>
    public static AckToken None => default;

    /// <summary>Whether this token tracks nothing.</summary>
    public bool IsNone => _owner is null;

    /// <summary>Records that one sink has delivered (or definitively rejected) the entry.</summary>
    public void Acknowledge() => Apply(1);

    /// <summary>
    /// Records that the entry needs no further delivery anywhere: a stage dropped it, or it was merged into
    /// another entry that carries its token. Every pending sink acknowledgement is settled at once.
    /// </summary>
    public void Complete() => Apply(int.MaxValue);

    /// <summary>
    /// Acknowledges every token once, as <see cref="Acknowledge"/> on each would, but settles consecutive entries of
    /// one source as a single range: a sink acknowledging a batch of a file's lines takes one lock, not one per line.
    /// </summary>
    /// <param name="tokens">The tokens, typically in the order the entries were read.</param>
    public static void AcknowledgeAll(ReadOnlySpan<AckToken> tokens)
    {
        AckTracker? tracker = null;
        long first = 0, last = -1;
        foreach (var token in tokens)
        {
            if (token._owner is AckTracker owner)
            {
                if (ReferenceEquals(owner, tracker) && token._first == last + 1)
                {
                    last = token._last;
                    continue;
                }

                tracker?.Acknowledge(first, last, 1);
                (tracker, first, last) = (owner, token._first, token._last);
            }
            else
            {
                token.Apply(1);
            }
        }

        tracker?.Acknowledge(first, last, 1);
    }

    /// <summary>
    /// A token that stands for both <paramref name="first"/> and <paramref name="second"/>, for a stage that
    /// joins entries (the joined entry carries the merged token). Consecutive entries of one source merge
    /// without allocating.
    /// </summary>
    /// <param name="first">The earlier entry's token.</param>
    /// <param name="second">The later entry's token.</param>
    /// <returns>The merged token.</returns>
    public static AckToken Merge(AckToken first, AckToken second)
    {
        if (first.IsNone)
        {
            return second;
        }

        if (second.IsNone || first == second)
        {
            return first;
        }

        if (ReferenceEquals(first._owner, second._owner) && first._owner is AckTracker tracker && first._last + 1 == second._first)
        {
            return new AckToken(tracker, first._first, second._last);
        }

        var parts = new List<AckToken>();
        Flatten(first, parts);
        Flatten(second, parts);
        return new AckToken([.. parts]);
    }

    private static void Flatten(AckToken token, List<AckToken> parts)
    {
        if (token._owner is AckToken[] group)
        {
            parts.AddRange(group);
        }
        else
        {
            parts.Add(token);
        }
    }

    private void Apply(int count)
    {
        switch (_owner)
        {
            case AckTracker tracker:
                tracker.Acknowledge(_first, _last, count);
                break;
            case AckToken[] group:
                foreach (var part in group)
                {
                    part.Apply(count);
                }

                break;
        }
    }

    /// <inheritdoc/>
    public bool Equals(AckToken other) => ReferenceEquals(_owner, other._owner) && _first == other._first && _last == other._last;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AckToken other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_owner, _first, _last);

    /// <summary>Compares two tokens.</summary>
    /// <param name="left">One token.</param>
    /// <param name="right">The other token.</param>
    /// <returns>Whether they are the same token.</returns>
    public static bool operator ==(AckToken left, AckToken right) => left.Equals(right);

    /// <summary>Compares two tokens.</summary>
    /// <param name="left">One token.</param>
    /// <param name="right">The other token.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(AckToken left, AckToken right) => !left.Equals(right);
}
