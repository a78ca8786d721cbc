namespace Pipeline.Aggregator.Http;

/// <summary>
/// Runs queries fairly: per tenant, at most a number at once and a bounded queue of waiting ones (Loki's
/// <c>max_outstanding_per_tenant</c>; a full queue is refused, answered with Loki's "too many outstanding requests"), and
/// across tenants at most a number of query threads at once. A query runs on a thread of its own, so its synchronous
/// chunk reads never hold a request thread: Kestrel, <c>/ready</c> and pushes keep their threads, and a waiting query
/// holds no thread at all. A freed thread goes to the tenants in turn (round robin), so a tenant with a long queue does
/// not keep the others waiting.
/// </summary>
internal sealed class QueryScheduler(int maxConcurrentPerTenant, int maxQueuedPerTenant, int maxConcurrent = int.MaxValue)
{
    /// <summary>Loki's message for a full queue (HTTP 429).</summary>
    public const string TooManyOutstandingRequests = "too many outstanding requests";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TenantQueue> _tenants = new(StringComparer.Ordinal);

    // Tenants with waiting queries, in the order they are served; the one served moves to the end.
    private readonly LinkedList<TenantQueue> _turns = new();
    private int _running;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next change of any tenant's running or waiting queries (tests wait on it, not on time).</summary>
    public Task NextChange
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Queries of <paramref name="tenant"/> running now (for tests and metrics).</summary>
    public int Running(string tenant)
    {
        lock (_lock)
        {
            return _tenants.TryGetValue(tenant, out var queue) ? queue.Running : 0;
        }
    }

    /// <summary>Queries running now across tenants.</summary>
    public int RunningTotal
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Queries of <paramref name="tenant"/> waiting for a slot.</summary>
    public int Queued(string tenant)
    {
        lock (_lock)
        {
            return _tenants.TryGetValue(tenant, out var queue) ? queue.Waiting.Count : 0;
        }
    }

    /// <summary>Waits for a slot of the tenant, then runs <paramref name="work"/> on its own thread.</summary>
    /// <returns>Whether the query was admitted (not when the tenant's queue is full) and, if so, its result.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting or running.</exception>
    public async Task<(bool Admitted, T? Result)> RunAsync<T>(string tenant, Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        LinkedListNode<TaskCompletionSource>? waiter = null;
        TenantQueue queue;
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenant, out queue!))
            {
                queue = new TenantQueue();
                _tenants[tenant] = queue;
            }

            if (queue.Running < maxConcurrentPerTenant && _running < maxConcurrent && queue.Waiting.Count == 0)
            {
                queue.Running++;
                _running++;
            }
            else if (queue.Waiting.Count >= maxQueuedPerTenant)
            {
                RemoveIfIdle(tenant, queue);
                return (false, default);
            }
            else
            {
                waiter = queue.Waiting.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                if (queue.Turn.List is null)
                {
                    _turns.AddLast(queue.Turn);
                }
            }

            Changed();
        }

        if (waiter is not null)
        {
            await WaitForSlotAsync(tenant, queue, waiter, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return (true, await Task.Factory.StartNew(() => work(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false));
        }
        finally
        {
            Release(tenant, queue);
        }
    }

    private async Task WaitForSlotAsync(string tenant, TenantQueue queue, LinkedListNode<TaskCompletionSource> waiter, CancellationToken cancellationToken)
    {
        var registration = cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                // Still waiting: leave the queue. Already handed a slot: the query starts and stops at once.
                if (waiter.List is not null)
                {
                    queue.Waiting.Remove(waiter);
                    if (queue.Waiting.Count == 0 && queue.Turn.List is not null)
                    {
                        _turns.Remove(queue.Turn);
                    }

                    RemoveIfIdle(tenant, queue);
                    waiter.Value.TrySetCanceled(cancellationToken);
                    Changed();
                }
            }
        });
        await using (registration.ConfigureAwait(false))
        {
            await waiter.Value.Task.ConfigureAwait(false);
        }
    }

    private void Release(string tenant, TenantQueue queue)
    {
        lock (_lock)
        {
            queue.Running--;
            _running--;
            Dispatch();
            RemoveIfIdle(tenant, queue);
            Changed();
        }
    }

    /// <summary>Under the lock: hands free threads to waiting queries, tenant by tenant in turn.</summary>
    private void Dispatch()
    {
        while (_running < maxConcurrent)
        {
            TenantQueue? next = null;
            for (var turn = _turns.First; turn is not null; turn = turn.Next)
            {
                if (turn.Value.Running < maxConcurrentPerTenant)
                {
                    next = turn.Value;
                    break;
                }
            }

            if (next is null)
            {
                return;
            }

            var waiter = next.Waiting.First!;
            next.Waiting.RemoveFirst();
            _turns.Remove(next.Turn);
            if (next.Waiting.Count > 0)
            {
                _turns.AddLast(next.Turn);
            }

            // Running counts the query from here; it releases the slot when it ends (or, cancelled meanwhile, at once).
            next.Running++;
            _running++;
            waiter.Value.TrySetResult();
        }
    }

    /// <summary>Under the lock: completes <see cref="NextChange"/> and starts the next one.</summary>
    private void Changed()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private void RemoveIfIdle(string tenant, TenantQueue queue)
    {
        if (queue.Running == 0 && queue.Waiting.Count == 0)
        {
            _tenants.Remove(tenant);
        }
    }

    private sealed class TenantQueue
    {
        public TenantQueue()
        {
            Turn = new LinkedListNode<TenantQueue>(this);
        }

        public LinkedListNode<TenantQueue> Turn { get; }

        public int Running { get; set; }

        public LinkedList<TaskCompletionSource> Waiting { get; } = new();
    }
}
