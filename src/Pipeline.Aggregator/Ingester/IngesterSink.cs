using System.Buffers;
using System.Threading.Channels;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The aggregator's sink: appends entries to the <see cref="LogIngester"/> and acknowledges each only once it is durable
/// in the WAL — or refuses it: too far behind its stream (400, Loki's <c>out of order</c> message), the ingester overloaded
/// (429: its WAL queue or memory stayed full; nothing stored) or a failed WAL write (500; nothing of it is visible, so the
/// client's retry is stored). Chunks that arrive together are appended as one batch per tenant, so concurrent pushes
/// share a WAL write and fsync (group commit); a bounded number of batches is in flight, so a slow disk pushes back to
/// the receiver. The entries are read in place: runs of consecutive entries of one stream go into the WAL record as they
/// are, and each run is acknowledged as one range.
/// </summary>
internal sealed class IngesterSink : ILogSink
{
    private const int MaxChunksPerBatch = 16;
    private const int MaxBatchesInFlight = 2;

    private readonly LogIngester _ingester;
    private readonly IPushObserver? _observer;
    private readonly DiscardCounters _discards;
    private readonly string _defaultTenant;

    public IngesterSink(LogIngester ingester, IPushObserver? observer, DiscardCounters discards, string defaultTenant)
    {
        _ingester = ingester;
        _observer = observer;
        _discards = discards;
        _defaultTenant = defaultTenant;
    }

    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<Task>();
        var idle = new System.Collections.Concurrent.ConcurrentBag<Batch>();
        while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Batches are reused (their lists keep their size), so a steady flow allocates none.
            var batch = idle.TryTake(out var reused) ? reused : new Batch(idle);
            while (batch.Chunks.Count < MaxChunksPerBatch && input.TryRead(out var chunk))
            {
                batch.Chunks.Add(chunk);
            }

            inFlight.Enqueue(AppendAsync(batch, context));
            if (inFlight.Count >= MaxBatchesInFlight)
            {
                await inFlight.Dequeue().ConfigureAwait(false);
            }
        }

        while (inFlight.Count > 0)
        {
            await inFlight.Dequeue().ConfigureAwait(false);
        }
    }

    private async Task AppendAsync(Batch batch, ComponentContext context)
    {
        try
        {
            foreach (var chunk in batch.Chunks)
            {
                context.Metrics.AddReceived(chunk.Count);
                foreach (var entry in chunk.Entries)
                {
                    batch.Add(entry.Tenant ?? _defaultTenant, entry);
                }
            }

            foreach (var (tenant, runs) in batch.Tenants)
            {
                if (runs.StreamCount > 0)
                {
                    await AppendTenantAsync(tenant, runs, context).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            foreach (var chunk in batch.Chunks)
            {
                chunk.Release();
            }

            batch.Recycle();
        }
    }

    private async Task AppendTenantAsync(string tenant, EntryRuns runs, ComponentContext context)
    {
        AppendResult result;
        try
        {
            result = await _ingester.AppendAsync(tenant, runs).ConfigureAwait(false);
        }
        catch (IngesterOverloadedException ex)
        {
            runs.AcknowledgeAll(new EntryRejection(RejectionKind.Limited, "ingester_overloaded", ex.Message));
            context.Metrics.AddErrors();
            return;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            runs.AcknowledgeAll(new EntryRejection(RejectionKind.Failed, "wal_write_failed", $"failed to store the push durably, nothing of it was stored, retry: {ex.Message}"));
            context.Metrics.AddErrors();
            return;
        }

        HashSet<(int, int)>? refused = null;
        foreach (var rejection in result.Rejections)
        {
            var entry = runs.Entry(rejection.StreamIndex, rejection.EntryIndex);
            (refused ??= []).Add((rejection.StreamIndex, rejection.EntryIndex));
            _discards.Add(tenant, DiscardReason.TooFarBehind, 1, entry.LineLength);
            entry.Ack.Acknowledge(new EntryRejection(
                RejectionKind.Invalid,
                DiscardReason.TooFarBehind,
                $"entry with timestamp {LokiMessageFormat.Time(rejection.TimestampNs)} ignored, reason: '{rejection.Message}' for stream: {entry.Labels}"));
        }

        if (_observer is not null && _observer.HasListeners(tenant))
        {
            _observer.OnPushed(tenant, runs.ToStreams(refused));
        }

        context.Metrics.AddSent(runs.AcknowledgeStored(refused));
    }

    /// <summary>The chunks taken together and their entries grouped by tenant.</summary>
    private sealed class Batch(System.Collections.Concurrent.ConcurrentBag<Batch> idle)
    {
        public List<EntryChunk> Chunks { get; } = [];

        /// <summary>Empties the batch and gives it back for the next one (a tenant's runs are kept for reuse too).</summary>
        public void Recycle()
        {
            Chunks.Clear();
            foreach (var runs in Tenants.Values)
            {
                runs.Clear();
            }

            if (Tenants.Count > 16)
            {
                Tenants.Clear();
            }

            _lastTenant = null;
            _lastRuns = null;
            idle.Add(this);
        }

        public Dictionary<string, EntryRuns> Tenants { get; } = new(StringComparer.Ordinal);

        private string? _lastTenant;
        private EntryRuns? _lastRuns;

        public void Add(string tenant, LogEntry entry)
        {
            // A push's entries share one tenant: the lookup is done once per push, not per entry.
            if (!ReferenceEquals(tenant, _lastTenant) || _lastRuns is null)
            {
                if (!Tenants.TryGetValue(tenant, out var found))
                {
                    found = new EntryRuns();
                    Tenants[tenant] = found;
                }

                _lastTenant = tenant;
                _lastRuns = found;
            }

            _lastRuns.Add(entry);
        }
    }

    /// <summary>
    /// One tenant's entries of a batch as runs of consecutive entries of one stream (the receiver hands a push on stream by
    /// stream); the lines stay in the entries' own buffers until acknowledged.
    /// </summary>
    private sealed class EntryRuns : AppendSource
    {
        private readonly List<LogEntry> _entries = [];
        private readonly List<(LabelSet Labels, int Start, int Count)> _runs = [];

        public override int StreamCount => _runs.Count;

        public void Clear()
        {
            _entries.Clear();
            _runs.Clear();
        }

        public void Add(LogEntry entry)
        {
            var labels = entry.Labels;
            if (_runs.Count > 0 && ReferenceEquals(_runs[^1].Labels, labels))
            {
                var last = _runs[^1];
                _runs[^1] = (last.Labels, last.Start, last.Count + 1);
            }
            else
            {
                _runs.Add((labels, _entries.Count, 1));
            }

            _entries.Add(entry);
        }

        public LogEntry Entry(int run, int index) => _entries[_runs[run].Start + index];

        public override LabelSet Labels(int stream) => _runs[stream].Labels;

        public override int Count(int stream) => _runs[stream].Count;

        public override long Timestamp(int stream, int entry) => _entries[_runs[stream].Start + entry].Timestamp;

        public override void Write(ByteBuffer buffer, int stream, int entry)
        {
            var e = _entries[_runs[stream].Start + entry];
            EntryFormat.Write(buffer, e.Timestamp, e.Line, e.Metadata);
        }

        public void AcknowledgeAll(EntryRejection rejection) => Acknowledge(rejection, refused: null);

        /// <summary>Acknowledges every entry not in <paramref name="refused"/>; returns how many.</summary>
        public int AcknowledgeStored(HashSet<(int, int)>? refused) => Acknowledge(null, refused);

        /// <summary>The stored entries as streams, for live tails (copies; only when someone listens).</summary>
        public List<IngestStream> ToStreams(HashSet<(int, int)>? refused)
        {
            var streams = new List<IngestStream>(_runs.Count);
            for (var r = 0; r < _runs.Count; r++)
            {
                var (labels, start, count) = _runs[r];
                var entries = new List<IngestEntry>(count);
                for (var e = 0; e < count; e++)
                {
                    if (refused is null || !refused.Contains((r, e)))
                    {
                        var entry = _entries[start + e];
                        entries.Add(new IngestEntry(entry.Timestamp, entry.LineMemory, Metadata(entry)));
                    }
                }

                if (entries.Count > 0)
                {
                    streams.Add(new IngestStream(labels, entries));
                }
            }

            return streams;
        }

        private int Acknowledge(EntryRejection? rejection, HashSet<(int, int)>? refused)
        {
            var tokens = ArrayPool<AckToken>.Shared.Rent(Math.Max(_entries.Count, 1));
            var count = 0;
            for (var r = 0; r < _runs.Count; r++)
            {
                var (_, start, length) = _runs[r];
                for (var e = 0; e < length; e++)
                {
                    if (refused is null || !refused.Contains((r, e)))
                    {
                        tokens[count++] = _entries[start + e].Ack;
                    }
                }
            }

            // Consecutive entries of one request settle as one range: one lock per run, not one per entry.
            AckToken.AcknowledgeAll(tokens.AsSpan(0, count), rejection);
            ArrayPool<AckToken>.Shared.Return(tokens, clearArray: true);
            return count;
        }

        private static Label[]? Metadata(LogEntry entry)
        {
            var fields = entry.Metadata;
            if (fields.Count == 0)
            {
                return null;
            }

            var labels = new Label[fields.Count];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = new Label(fields.NameAt(i), System.Text.Encoding.UTF8.GetString(fields.ValueAt(i)));
            }

            return labels;
        }
    }
}
