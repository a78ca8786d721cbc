using System.Threading.Channels;

namespace Pipeline.Delivery;

/// <summary>
/// The batching half of the delivery layer: one open batch per key (a tenant), sent when its size reaches
/// <see cref="DeliveryBatcherOptions.BatchSize"/> or it has waited <see cref="DeliveryBatcherOptions.BatchWait"/> on
/// the pipeline's clock; each key has its own queue and senders (<see cref="DeliveryBatcherOptions.MaxInFlightPerKey"/>),
/// so a key that is being retried does not stop the others. A batch's acknowledgements are settled after the send
/// function returns (delivered, or dropped and counted), never before; an aborted send settles nothing.
/// </summary>
/// <typeparam name="TBatch">The sink's batch type.</typeparam>
/// <remarks>
/// One reader (the sink's read loop) calls <see cref="Open"/>, <see cref="AddedAsync"/>, <see cref="FlushAsync"/> and
/// <see cref="RunAsync"/>; sends run on their own tasks. Disposable batches are disposed by <see cref="StopAsync"/>.
/// </remarks>
public sealed class DeliveryBatcher<TBatch>
    where TBatch : DeliveryBatch
{
    private readonly DeliveryBatcherOptions _options;
    private readonly Func<TBatch> _create;
    private readonly Func<string, TBatch, CancellationToken, Task<DeliveryResult>> _send;
    private readonly TimeProvider _time;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private Lane? _last;

    /// <summary>Creates a batcher.</summary>
    /// <param name="options">Batch size and wait, in-flight and queue limits.</param>
    /// <param name="create">Creates an empty batch.</param>
    /// <param name="send">Delivers one batch of a key (see <see cref="HttpDeliveryClient.SendAsync"/>); throws <see cref="OperationCanceledException"/> when aborted.</param>
    /// <param name="time">The pipeline's clock.</param>
    /// <param name="cancellationToken">Aborts: waiting and sending stop, unsent batches stay unacknowledged.</param>
    public DeliveryBatcher(DeliveryBatcherOptions options, Func<TBatch> create, Func<string, TBatch, CancellationToken, Task<DeliveryResult>> send, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        _options = options;
        _create = create;
        _send = send;
        _time = time;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Called each time <see cref="RunAsync"/> starts waiting for a batch's deadline (diagnostics and tests).</summary>
    public Action? OnWaitingForDeadline { get; set; }

    /// <summary>The open batch of <paramref name="key"/>, to add to (then call <see cref="AddedAsync"/>).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The batch.</returns>
    public TBatch Open(string key)
    {
        var lane = GetLane(key);
        if (lane.Open.Count == 0)
        {
            lane.Open.Started = _time.GetTimestamp();
        }

        return lane.Open;
    }

    /// <summary>Sends the open batch of <paramref name="key"/> when it has reached its size.</summary>
    /// <param name="key">The key just added to.</param>
    /// <returns>A task that completes once the batch is queued (it waits while the key's queue is full).</returns>
    public ValueTask AddedAsync(string key)
    {
        var lane = GetLane(key);
        return lane.Open.Size >= _options.BatchSize ? lane.FlushAsync(_cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>Sends the open batch of <paramref name="key"/> now, if it holds anything.</summary>
    /// <param name="key">The key.</param>
    /// <returns>A task that completes once the batch is queued.</returns>
    public ValueTask FlushAsync(string key) => GetLane(key).FlushAsync(_cancellationToken);

    /// <summary>
    /// Reads <paramref name="input"/> until it completes, giving each item to <paramref name="add"/> and sending batches
    /// whose wait is over; then sends what is buffered and waits for every key's sends (<see cref="StopAsync"/>).
    /// </summary>
    /// <typeparam name="T">The input's item type.</typeparam>
    /// <param name="input">The sink's input.</param>
    /// <param name="add">Adds one item (through <see cref="Open"/> and <see cref="AddedAsync"/>).</param>
    /// <returns>A task that completes when everything read is delivered or dropped.</returns>
    /// <exception cref="OperationCanceledException">The batcher was aborted.</exception>
    public async Task RunAsync<T>(ChannelReader<T> input, Func<T, ValueTask> add)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(add);
        try
        {
            await ReadAsync(input, add).ConfigureAwait(false);
        }
        finally
        {
            await StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends every open batch (unless aborted), lets each key's queue drain and waits for its senders.</summary>
    /// <returns>A task that completes when all senders have ended.</returns>
    public async Task StopAsync()
    {
        if (!_cancellationToken.IsCancellationRequested)
        {
            foreach (var lane in _lanes.Values)
            {
                try
                {
                    await lane.FlushAsync(_cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
                {
                    // Aborted, or the lane's sender failed: its failure is observed below.
                }
            }
        }

        foreach (var lane in _lanes.Values)
        {
            lane.Complete();
        }

        List<Exception>? errors = null;
        foreach (var lane in _lanes.Values)
        {
            try
            {
                await Task.WhenAll(lane.Senders).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                (errors ??= []).Add(e);
            }
            finally
            {
                lane.Dispose();
            }
        }

        _lanes.Clear();
        _last = null;
        if (errors is not null)
        {
            throw new AggregateException(errors);
        }
    }

    private async Task ReadAsync<T>(ChannelReader<T> input, Func<T, ValueTask> add)
    {
        Task<bool>? waiting = null;
        while (true)
        {
            while (input.TryRead(out var item))
            {
                await add(item).ConfigureAwait(false);
            }

            await FlushExpiredAsync().ConfigureAwait(false);
            waiting ??= WaitToReadAsync(input);
            var deadline = NextDeadline();
            if (deadline is null || waiting.IsCompleted)
            {
                if (!await waiting.ConfigureAwait(false))
                {
                    return;
                }

                waiting = null;
                continue;
            }

            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
            var delay = Task.Delay(deadline.Value, _time, delayCancel.Token);
            OnWaitingForDeadline?.Invoke();
            if (await Task.WhenAny(waiting, delay).ConfigureAwait(false) == waiting)
            {
                await delayCancel.CancelAsync().ConfigureAwait(false);
                if (!await waiting.ConfigureAwait(false))
                {
                    return;
                }

                waiting = null;
            }
            else
            {
                // Surface an abort from the delay.
                await delay.ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> WaitToReadAsync<T>(ChannelReader<T> input)
    {
        try
        {
            return await input.WaitToReadAsync(_cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private async ValueTask FlushExpiredAsync()
    {
        foreach (var lane in _lanes.Values)
        {
            if (lane.Open.Count > 0 && _time.GetElapsedTime(lane.Open.Started) >= _options.BatchWait)
            {
                await lane.FlushAsync(_cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private TimeSpan? NextDeadline()
    {
        TimeSpan? next = null;
        foreach (var lane in _lanes.Values)
        {
            if (lane.Open.Count > 0)
            {
                var left = _options.BatchWait - _time.GetElapsedTime(lane.Open.Started);
                left = left < TimeSpan.Zero ? TimeSpan.Zero : left;
                next = next is null || left < next ? left : next;
            }
        }

        return next;
    }

    private Lane GetLane(string key)
    {
        // Consecutive items mostly share a key: skip the lookup then.
        if (_last is { } last && string.Equals(last.Key, key, StringComparison.Ordinal))
        {
            return last;
        }

        if (!_lanes.TryGetValue(key, out var lane))
        {
            lane = new Lane(this, key);
            _lanes.Add(key, lane);
        }

        _last = lane;
        return lane;
    }

    /// <summary>One key: the batch being filled, a bounded queue of full ones, and its senders.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly DeliveryBatcher<TBatch> _batcher;
        private readonly Channel<TBatch> _queue;
        private readonly Stack<TBatch> _free = new();
        private readonly Lock _freeLock = new();

        public Lane(DeliveryBatcher<TBatch> batcher, string key)
        {
            _batcher = batcher;
            Key = key;
            var options = batcher._options;
            _queue = Channel.CreateBounded<TBatch>(new BoundedChannelOptions(options.MaxQueuedBatchesPerKey)
            {
                SingleReader = options.MaxInFlightPerKey == 1,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            Open = batcher._create();
            Senders = new Task[options.MaxInFlightPerKey];
            for (var i = 0; i < Senders.Length; i++)
            {
                Senders[i] = Task.Run(SendLoopAsync);
            }
        }

        public string Key { get; }

        public TBatch Open { get; private set; }

        public Task[] Senders { get; }

        public ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            if (Open.Count == 0)
            {
                return ValueTask.CompletedTask;
            }

            var full = Open;
            lock (_freeLock)
            {
                Open = _free.TryPop(out var reused) ? reused : _batcher._create();
            }

            return _queue.Writer.TryWrite(full) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(full, cancellationToken);
        }

        public void Complete() => _queue.Writer.TryComplete();

        public void Dispose()
        {
            (Open as IDisposable)?.Dispose();
            foreach (var batch in _free)
            {
                (batch as IDisposable)?.Dispose();
            }

            _free.Clear();
        }

        private async Task SendLoopAsync()
        {
            var cancellationToken = _batcher._cancellationToken;
            try
            {
                while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (_queue.Reader.TryRead(out var batch))
                    {
                        await _batcher._send(Key, batch, cancellationToken).ConfigureAwait(false);

                        // Delivered, or dropped and counted by the send: either way the items are done with.
                        batch.Acknowledge();
                        batch.Reset();
                        lock (_freeLock)
                        {
                            _free.Push(batch);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Aborted: unsent items stay unacknowledged, so their sources do not commit past them.
            }
            catch (Exception e)
            {
                // Fail the reader's next hand-off rather than leave it waiting on a sender that is gone.
                _queue.Writer.TryComplete(e);
                throw;
            }
        }
    }
}
