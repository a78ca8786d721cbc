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
    public void Acknowledge() => Apply(1, null);

    /// <summary>
    /// Records that one sink definitively refused the entry, and why: the source sees the rejection
    /// (<see cref="AckTracker.Rejections"/>), e.g. to answer a client with the right status.
    /// </summary>
    /// <param name="rejection">Why the entry was refused.</param>
    public void Acknowledge(EntryRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        Apply(1, rejection);
    }

    /// <summary>
    /// What the entry's source attached to its tracker (<see cref="AckTracker.State"/>), e.g. the push request the entry
    /// came from; <see langword="null"/> for untracked or merged tokens.
    /// </summary>
    public object? SourceState => (_owner as AckTracker)?.State;

    /// <summary>
    /// Records that the entry needs no further delivery anywhere: a stage dropped it, or it was merged into
    /// another entry that carries its token. Every pending sink acknowledgement is settled at once.
    /// </summary>
    public void Complete() => Apply(int.MaxValue, null);

    /// <summary>
    /// Records that the entry is refused and needs no further delivery anywhere (a stage rejected it): every pending
    /// sink acknowledgement is settled and the source sees why.
    /// </summary>
    /// <param name="rejection">Why the entry was refused.</param>
    public void Complete(EntryRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        Apply(int.MaxValue, rejection);
    }

    /// <summary>
    /// Acknowledges every token once, as <see cref="Acknowledge()"/> on each would, but settles consecutive entries of
    /// one source as a single range: a sink acknowledging a batch of a file's lines takes one lock, not one per line.
    /// </summary>
    /// <param name="tokens">The tokens, typically in the order the entries were read.</param>
    public static void AcknowledgeAll(ReadOnlySpan<AckToken> tokens) => AcknowledgeAll(tokens, null);

    /// <summary>
    /// Acknowledges every token once, as <see cref="AcknowledgeAll(ReadOnlySpan{AckToken})"/> does, recording that the
    /// sink refused them all for <paramref name="rejection"/> (e.g. a failed write), when it is not <see langword="null"/>.
    /// </summary>
    /// <param name="tokens">The tokens.</param>
    /// <param name="rejection">Why they were refused, or <see langword="null"/> when delivered.</param>
    public static void AcknowledgeAll(ReadOnlySpan<AckToken> tokens, EntryRejection? rejection)
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

                tracker?.Acknowledge(first, last, 1, rejection);
                (tracker, first, last) = (owner, token._first, token._last);
            }
            else
            {
                token.Apply(1, rejection);
            }
        }

        tracker?.Acknowledge(first, last, 1, rejection);
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

    private void Apply(int count, EntryRejection? rejection)
    {
        switch (_owner)
        {
            case AckTracker tracker:
                tracker.Acknowledge(_first, _last, count, rejection);
                break;
            case AckToken[] group:
                foreach (var part in group)
                {
                    part.Apply(count, rejection);
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
