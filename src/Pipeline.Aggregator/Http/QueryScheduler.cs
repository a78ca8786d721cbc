namespace Pipeline.Aggregator.Http;

/// <summary>
/// Runs queries fairly: per tenant, at most a number at once and a bounded queue of waiting ones (Loki's
/// <c>max_outstanding_per_tenant</c>; a full queue is refused, answered with Loki's "too many outstanding requests"). A query runs
/// on a thread of its own, so its synchronous chunk reads never hold a request thread: Kestrel, <c>/ready</c> and
/// pushes keep their threads, and a waiting query holds no thread at all.
/// </summary>
internal sealed class QueryScheduler(int maxConcurrentPerTenant, int maxQueuedPerTenant)
{
    /// <summary>Loki's message for a full queue (HTTP 429).</summary>
    public const string TooManyOutstandingRequests = "too many outstanding requests";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TenantQueue> _tenants = new(StringComparer.Ordinal);
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

            if (queue.Running < maxConcurrentPerTenant)
            {
                queue.Running++;
            }
            else if (queue.Waiting.Count >= maxQueuedPerTenant)
            {
                return (false, default);
            }
            else
            {
                waiter = queue.Waiting.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
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
            // The slot passes to the first waiter as it is; Running counts it still.
            if (queue.Waiting.First is { } next)
            {
                queue.Waiting.RemoveFirst();
                next.Value.TrySetResult();
                Changed();
                return;
            }

            queue.Running--;
            RemoveIfIdle(tenant, queue);
            Changed();
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
        public int Running { get; set; }

        public LinkedList<TaskCompletionSource> Waiting { get; } = new();
    }
}
