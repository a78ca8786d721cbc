using System.Collections.Concurrent;
using System.Globalization;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Wal;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The first step of an append: refuses the entries too far behind their stream, writes the rest once, straight into a
/// framed WAL record, and queues it — at most <see cref="IngesterOptions.MaxQueuedAppends"/> records wait for the WAL,
/// whoever calls, and memory must be under its limit (both wait up to <see cref="IngesterOptions.AppendTimeout"/>, then
/// refuse with <see cref="IngesterOverloadedException"/>). Once the record is durable the WAL writer stores it
/// (<see cref="HeadWriter"/>), and only then does the append complete.
/// </summary>
#pragma warning disable CA1001 // The semaphore never creates a wait handle (only WaitAsync is used).
internal sealed class WalAppender
#pragma warning restore CA1001
{
    private const int RetainedBufferBytes = 8 << 20;

    private readonly IngesterState _state;
    private readonly WriteAheadLog _wal;
    private readonly HeadWriter _heads;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<(ByteBuffer Record, LiveSections Live)> _buffers = [];
    private readonly long _windowNs;

    public WalAppender(IngesterState state, WriteAheadLog wal, HeadWriter heads)
    {
        _state = state;
        _wal = wal;
        _heads = heads;
        _slots = new SemaphoreSlim(state.Options.MaxQueuedAppends, state.Options.MaxQueuedAppends);
        _windowNs = state.Options.OutOfOrderWindow.Ticks * 100;
    }

    /// <summary>Appends waiting for the WAL or being written (for tests).</summary>
    public int InFlight => _state.Options.MaxQueuedAppends - _slots.CurrentCount;

    public async ValueTask<AppendResult> AppendAsync(TenantState tenant, AppendSource source, CancellationToken cancellationToken)
    {
        await _state.WaitForMemoryAsync(cancellationToken).ConfigureAwait(false);
        await WaitForSlotAsync(cancellationToken).ConfigureAwait(false);
        var (record, live) = _buffers.TryTake(out var pooled) ? pooled : (new ByteBuffer(64 * 1024), new LiveSections());
        var append = new DurableAppend(_heads, tenant, record, live);
        try
        {
            Task durable;
            lock (tenant.Gate)
            {
                append.Sequence = _wal.ReserveSequence();
                Encode(tenant, source, append, record, live);
                durable = _wal.Enqueue(append.Sequence, record, append.Store);
            }

            // The WAL writer reads the record and stores it, so the append waits for it even if the caller gives up.
            await durable.ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
            record.Clear();
            live.Clear();
            if (record.Capacity <= RetainedBufferBytes && live.Entries.Capacity <= RetainedBufferBytes && _buffers.Count < _state.Options.MaxQueuedAppends)
            {
                _buffers.Add((record, live));
            }
            else
            {
                record.Dispose();
                live.Entries.Dispose();
            }
        }

        return new AppendResult(append.Counts.Accepted, append.Counts.Duplicates, append.Counts.Rejections);
    }

    private async ValueTask WaitForSlotAsync(CancellationToken cancellationToken)
    {
        // A free slot is taken at once (a completed, cached task); otherwise wait without holding the thread.
        if (await _slots.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_state.Options.AppendTimeout, _state.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IngesterOverloadedException(string.Create(
                CultureInfo.InvariantCulture,
                $"the ingester's WAL queue stayed full ({_state.Options.MaxQueuedAppends} appends waiting for the disk) for {_state.Options.AppendTimeout.TotalSeconds:0.#} s; nothing of the push was stored, retry later"));
        }
    }

    /// <summary>
    /// Under the tenant's gate: checks every entry against its stream's window, writes the accepted ones (uncompressed,
    /// kept in <paramref name="live"/> for storing them) and compresses each stream's into the record as one frame.
    /// </summary>
    private void Encode(TenantState tenant, AppendSource source, DurableAppend append, ByteBuffer record, LiveSections live)
    {
        record.Clear();
        live.Clear();
        var frame = RecordFraming.BeginFrame(record);
        var streamsAt = WalRecordCodec.BeginRecord(record, append.Sequence, tenant.Id);
        var accepted = 0;
        var count = source.StreamCount;
        var entriesBuffer = live.Entries;
        for (var s = 0; s < count; s++)
        {
            var stream = IngesterState.GetOrCreateStream(tenant, source.Labels(s));
            var at = WalRecordCodec.BeginStream(record, stream.Labels);
            var start = entriesBuffer.Length;
            var entries = source.Count(s);
            var written = 0;
            var highest = stream.HighestTs;
            long first = 0, last = 0;
            var increasing = true;
            for (var e = 0; e < entries; e++)
            {
                var ts = source.Timestamp(s, e);
                if (highest != long.MinValue && ts < highest - _windowNs)
                {
                    append.Counts.Reject(new AppendRejection(
                        s,
                        e,
                        ts,
                        RejectionReason.TooFarBehind,
                        $"entry too far behind, entry timestamp is: {FormatTimestamp(ts)}, oldest acceptable timestamp is: {FormatTimestamp(highest - _windowNs)}"));
                    continue;
                }

                source.Write(entriesBuffer, s, e);
                if (written == 0)
                {
                    first = ts;
                }
                else if (ts <= last)
                {
                    increasing = false;
                }

                last = ts;
                written++;
                if (ts > highest)
                {
                    highest = ts;
                }
            }

            stream.HighestTs = highest;
            WalRecordCodec.EndStream(record, at, written, entriesBuffer.WrittenSpan[start..]);
            live.Add(stream, start, new SectionOrder(first, last, increasing));
            accepted += written;
        }

        WalRecordCodec.EndRecord(record, streamsAt, count);
        if (accepted == 0)
        {
            record.Clear(); // A barrier: nothing to write, it only waits for the entries queued before it.
            return;
        }

        RecordFraming.EndFrame(record, frame);
    }

    private static string FormatTimestamp(long ns) =>
        DateTimeOffset.UnixEpoch.AddTicks(ns / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>One append between its check and its store, which the WAL writer runs once the record is durable.</summary>
    private sealed class DurableAppend(HeadWriter heads, TenantState tenant, ByteBuffer record, LiveSections live)
    {
#pragma warning disable SA1401, CA1051 // Filled by reference while the append is checked and stored.
        public AppendCounts Counts;
#pragma warning restore SA1401, CA1051

        public long Sequence { get; set; }

        public void Store()
        {
            if (record.Length == 0)
            {
                return;
            }

            lock (tenant.Gate)
            {
                heads.Apply(tenant, record.WrittenSpan[RecordFraming.HeaderSize..], Sequence, live, ref Counts);
            }

            heads.EnforceMemoryLimit();
        }
    }
}
