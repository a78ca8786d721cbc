namespace Pipeline.Runtime;

/// <summary>
/// Tracks the entries one source target (for example one file) has emitted, and tells the source the
/// highest position it may commit: the position of the last entry such that it and every entry before it
/// has been acknowledged by every sink. Acknowledgements may arrive in any order and from any thread.
/// </summary>
/// <remarks>
/// Memory is proportional to the entries in flight, which channel capacities and batch sizes bound.
/// </remarks>
public sealed class AckTracker
{
    /// <summary>How many rejections a tracker keeps for <see cref="Rejections"/>; further ones are only counted.</summary>
    public const int MaxRetainedRejections = 1000;

    private readonly Lock _lock = new();
    private int[] _remaining = new int[64];
    private bool[] _rejected = new bool[64];
    private List<EntryRejection>? _rejections;
    private long _rejectedCount;
    private long[] _positions = new long[64];
    private long _head;
    private long _next;
    private long _committed;
    private List<(long Position, TaskCompletionSource Signal)>? _waiters;

    /// <summary>Creates a tracker.</summary>
    /// <param name="requiredAcknowledgements">How many sinks must acknowledge each entry (at least 1).</param>
    /// <param name="startPosition">The committed position before any entry is emitted.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requiredAcknowledgements"/> is less than 1.</exception>
    public AckTracker(int requiredAcknowledgements = 1, long startPosition = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requiredAcknowledgements, 1);
        RequiredAcknowledgements = requiredAcknowledgements;
        _committed = startPosition;
    }

    /// <summary>How many sinks must acknowledge each entry.</summary>
    public int RequiredAcknowledgements { get; }

    /// <summary>
    /// What the source attached to this tracker, e.g. the push request its entries came from, for stages that decide
    /// per request (<see cref="AckToken.SourceState"/>).
    /// </summary>
    public object? State { get; init; }

    /// <summary>How many tracked entries were refused (each counted once, however many sinks refused it).</summary>
    public long RejectedCount
    {
        get
        {
            lock (_lock)
            {
                return _rejectedCount;
            }
        }
    }

    /// <summary>
    /// Why entries were refused, in the order the refusals arrived; consecutive entries refused for the same cause
    /// (the same <see cref="EntryRejection"/> instance) appear once. At most <see cref="MaxRetainedRejections"/>.
    /// </summary>
    public IReadOnlyList<EntryRejection> Rejections
    {
        get
        {
            lock (_lock)
            {
                return _rejections is null ? [] : [.. _rejections];
            }
        }
    }

    /// <summary>The highest position whose entry, and every earlier one, is fully acknowledged.</summary>
    public long CommittedPosition
    {
        get
        {
            lock (_lock)
            {
                return _committed;
            }
        }
    }

    /// <summary>The number of emitted entries not yet fully acknowledged.</summary>
    public long InFlight
    {
        get
        {
            lock (_lock)
            {
                return _next - _head;
            }
        }
    }

    /// <summary>Registers the next entry of this target.</summary>
    /// <param name="position">The position to commit once this entry and all before it are acknowledged
    /// (for a file, the offset just past the line).</param>
    /// <returns>The token the entry carries.</returns>
    public AckToken Track(long position)
    {
        lock (_lock)
        {
            if (_next - _head == _remaining.Length)
            {
                Grow(_remaining.Length * 2);
            }

            var index = (int)(_next & (_remaining.Length - 1));
            _remaining[index] = RequiredAcknowledgements;
            _rejected[index] = false;
            _positions[index] = position;
            var sequence = _next++;
            return new AckToken(this, sequence, sequence);
        }
    }

    /// <summary>
    /// Registers the next <c>tokens.Length</c> entries of this target at once (one lock for all of them), at positions
    /// <paramref name="firstPosition"/>, <paramref name="firstPosition"/> + 1, ...; as <see cref="Track(long)"/> on each would.
    /// </summary>
    /// <param name="tokens">Receives the tokens, in order.</param>
    /// <param name="firstPosition">The position of the first entry.</param>
    public void Track(Span<AckToken> tokens, long firstPosition)
    {
        lock (_lock)
        {
            var needed = _next - _head + tokens.Length;
            if (needed > _remaining.Length)
            {
                // One step to the size needed (a push tracks thousands of entries at once), not one doubling at a time.
                Grow((int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)needed), 1 << 30));
            }

            var mask = _remaining.Length - 1;
            for (var i = 0; i < tokens.Length; i++)
            {
                var index = (int)(_next & mask);
                _remaining[index] = RequiredAcknowledgements;
                _rejected[index] = false;
                _positions[index] = firstPosition + i;
                var sequence = _next++;
                tokens[i] = new AckToken(this, sequence, sequence);
            }
        }
    }

    /// <summary>Waits until <see cref="CommittedPosition"/> reaches at least <paramref name="position"/>.</summary>
    /// <param name="position">The position to wait for.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the position is committed.</returns>
    public Task WaitForCommitAsync(long position, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_committed >= position)
            {
                return Task.CompletedTask;
            }

            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_waiters ??= []).Add((position, signal));
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return signal.Task;
        }

        return WaitCancellableAsync(signal, cancellationToken);
    }

    private async Task WaitCancellableAsync(TaskCompletionSource signal, CancellationToken cancellationToken)
    {
        try
        {
            await signal.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A source that waits with a time-out again and again must not pile up abandoned waiters.
            lock (_lock)
            {
                _waiters?.RemoveAll(w => ReferenceEquals(w.Signal, signal));
            }

            throw;
        }
    }

    internal void Acknowledge(long first, long last, int count, EntryRejection? rejection = null)
    {
        List<TaskCompletionSource>? release = null;
        lock (_lock)
        {
            var mask = _remaining.Length - 1;
            for (var sequence = Math.Max(first, _head); sequence <= last && sequence < _next; sequence++)
            {
                var index = (int)(sequence & mask);
                ref var remaining = ref _remaining[index];
                if (rejection is not null && remaining > 0 && !_rejected[index])
                {
                    _rejected[index] = true;
                    Record(rejection);
                }

                remaining = count >= remaining ? 0 : remaining - count;
            }

            var advanced = false;
            while (_head < _next && _remaining[(int)(_head & mask)] == 0)
            {
                _committed = _positions[(int)(_head & mask)];
                _head++;
                advanced = true;
            }

            if (advanced && _waiters is { Count: > 0 } waiters)
            {
                for (var i = waiters.Count - 1; i >= 0; i--)
                {
                    if (waiters[i].Position <= _committed)
                    {
                        (release ??= []).Add(waiters[i].Signal);
                        waiters.RemoveAt(i);
                    }
                }
            }
        }

        if (release is not null)
        {
            foreach (var signal in release)
            {
                signal.TrySetResult();
            }
        }
    }

    private void Record(EntryRejection rejection)
    {
        _rejectedCount++;
        var list = _rejections ??= [];
        if (list.Count < MaxRetainedRejections && (list.Count == 0 || !ReferenceEquals(list[^1], rejection)))
        {
            list.Add(rejection);
        }
    }

    private void Grow(int size)
    {
        var remaining = new int[size];
        var positions = new long[size];
        var rejected = new bool[size];
        var oldMask = _remaining.Length - 1;
        for (var sequence = _head; sequence < _next; sequence++)
        {
            remaining[(int)(sequence & (size - 1))] = _remaining[(int)(sequence & oldMask)];
            positions[(int)(sequence & (size - 1))] = _positions[(int)(sequence & oldMask)];
            rejected[(int)(sequence & (size - 1))] = _rejected[(int)(sequence & oldMask)];
        }

        _remaining = remaining;
        _positions = positions;
        _rejected = rejected;
    }
}
