using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Index;
using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// What the ingester's components share: the tenants in memory, the bytes of log data held in memory, and the wait of an
/// append for memory to be released (push-back when chunks cannot be written out fast enough).
/// </summary>
internal sealed class IngesterState
{
    private readonly ConcurrentDictionary<string, TenantState> _tenants = new(StringComparer.Ordinal);
    private readonly Lock _tenantsLock = new();
    private readonly ILogger _logger;
    private long _memoryBytes;
    private TaskCompletionSource _released = NewSignal();

    public IngesterState(IngesterOptions options, TimeProvider time, ILogger logger)
    {
        Options = options;
        Time = time;
        _logger = logger;
        Store = new ChunkStore(options.TenantsDirectory);
    }

    public IngesterOptions Options { get; }

    public TimeProvider Time { get; }

    public ChunkStore Store { get; }

    public ICollection<TenantState> Tenants => _tenants.Values;

    public long MemoryBytes => Interlocked.Read(ref _memoryBytes);

    public bool OverMemoryLimit => MemoryBytes > Options.MemoryLimitBytes;

    /// <summary>Asks for a flush (set by the flusher).</summary>
    public Action RequestFlush { get; set; } = static () => { };

    public void AddMemory(long bytes) => Interlocked.Add(ref _memoryBytes, bytes);

    public bool TryGetTenant(string tenant, out TenantState state) => _tenants.TryGetValue(tenant, out state!);

    public TenantState GetOrCreateTenant(string tenant)
    {
        if (_tenants.TryGetValue(tenant, out var state))
        {
            return state;
        }

        lock (_tenantsLock)
        {
            if (!_tenants.TryGetValue(tenant, out state))
            {
                state = new TenantState(tenant, TenantIndex.Open(Store.TenantDirectory(tenant), _logger));
                _tenants[tenant] = state;
            }

            return state;
        }
    }

    public static StreamState GetOrCreateStream(TenantState tenant, Pipeline.Model.LabelSet labels)
    {
        if (!tenant.Streams.TryGetValue(labels, out var stream))
        {
            stream = new StreamState(labels, tenant.Index.FlushedThrough(labels));
            tenant.Streams.Add(labels, stream);
        }

        return stream;
    }

    /// <summary>Wakes appends waiting in <see cref="WaitForMemoryAsync"/> (after a flush released memory, or on stop).</summary>
    public void SignalReleased() => Interlocked.Exchange(ref _released, NewSignal()).TrySetResult();

    /// <summary>
    /// Waits while memory is over the limit (asking for flushes), up to <see cref="IngesterOptions.AppendTimeout"/>; then
    /// refuses the append with <see cref="IngesterOverloadedException"/>, so ingest is pushed back, never unbounded.
    /// </summary>
    public async ValueTask WaitForMemoryAsync(CancellationToken cancellationToken)
    {
        if (!OverMemoryLimit)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(Options.AppendTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        while (OverMemoryLimit)
        {
            var released = Volatile.Read(ref _released).Task;
            RequestFlush();
            try
            {
                await released.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new IngesterOverloadedException(string.Create(
                    System.Globalization.CultureInfo.InvariantCulture,
                    $"ingester memory {MemoryBytes} bytes stayed over its limit of {Options.MemoryLimitBytes} bytes for {Options.AppendTimeout.TotalSeconds:0.#} s (chunks cannot be written out fast enough); nothing of the push was stored, retry later"));
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
