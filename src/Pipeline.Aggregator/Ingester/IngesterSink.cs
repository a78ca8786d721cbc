using System.Threading.Channels;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Distributor;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The aggregator's sink: appends entries to the <see cref="LogIngester"/> and acknowledges each only once it is durable
/// in the WAL — or refuses it: too far behind its stream (400, Loki's <c>out of order</c> message) or a failed WAL write
/// (500; nothing of it is visible, so the client's retry is stored). Chunks that arrive together are appended as one
/// batch per tenant, so concurrent pushes share a WAL write and fsync (group commit); a bounded number of batches is in
/// flight, so a slow disk pushes back to the receiver.
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
        while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var batch = new Batch();
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

            foreach (var (tenant, streams) in batch.Tenants)
            {
                await AppendTenantAsync(tenant, streams, context).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var chunk in batch.Chunks)
            {
                chunk.Release();
            }
        }
    }

    private async Task AppendTenantAsync(string tenant, TenantBatch streams, ComponentContext context)
    {
        AppendResult result;
        try
        {
            result = await _ingester.AppendAsync(tenant, streams.Streams).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            var failed = new EntryRejection(RejectionKind.Failed, "wal_write_failed", $"failed to store the push durably, nothing of it was stored, retry: {ex.Message}");
            foreach (var entries in streams.Entries)
            {
                foreach (var entry in entries)
                {
                    entry.Ack.Acknowledge(failed);
                }
            }

            context.Metrics.AddErrors();
            return;
        }

        HashSet<(int, int)>? refused = null;
        foreach (var rejection in result.Rejections)
        {
            var entry = streams.Entries[rejection.StreamIndex][rejection.EntryIndex];
            (refused ??= []).Add((rejection.StreamIndex, rejection.EntryIndex));
            _discards.Add(tenant, DiscardReason.TooFarBehind, 1, entry.LineLength);
            entry.Ack.Acknowledge(new EntryRejection(
                RejectionKind.Invalid,
                DiscardReason.TooFarBehind,
                $"entry with timestamp {LokiMessageFormat.Time(rejection.TimestampNs)} ignored, reason: '{rejection.Message}' for stream: {entry.Labels}"));
        }

        if (_observer is not null && _observer.HasListeners(tenant))
        {
            _observer.OnPushed(tenant, refused is null ? streams.Streams : Without(streams.Streams, refused));
        }

        var sent = 0;
        for (var s = 0; s < streams.Entries.Count; s++)
        {
            var entries = streams.Entries[s];
            for (var e = 0; e < entries.Count; e++)
            {
                if (refused is null || !refused.Contains((s, e)))
                {
                    entries[e].Ack.Acknowledge();
                    sent++;
                }
            }
        }

        context.Metrics.AddSent(sent);
    }

    private static List<IngestStream> Without(List<IngestStream> streams, HashSet<(int, int)> refused)
    {
        var result = new List<IngestStream>(streams.Count);
        for (var s = 0; s < streams.Count; s++)
        {
            var entries = new List<IngestEntry>(streams[s].Entries.Count);
            for (var e = 0; e < streams[s].Entries.Count; e++)
            {
                if (!refused.Contains((s, e)))
                {
                    entries.Add(streams[s].Entries[e]);
                }
            }

            if (entries.Count > 0)
            {
                result.Add(new IngestStream(streams[s].Labels, entries));
            }
        }

        return result;
    }

    /// <summary>The chunks taken together and their entries grouped by tenant and stream.</summary>
    private sealed class Batch
    {
        public List<EntryChunk> Chunks { get; } = [];

        public Dictionary<string, TenantBatch> Tenants { get; } = new(StringComparer.Ordinal);

        public void Add(string tenant, LogEntry entry)
        {
            if (!Tenants.TryGetValue(tenant, out var streams))
            {
                streams = new TenantBatch();
                Tenants[tenant] = streams;
            }

            streams.Add(entry);
        }
    }

    /// <summary>One tenant's entries of a batch, by stream; the lines stay in the entries' own buffers until acknowledged.</summary>
    private sealed class TenantBatch
    {
        private readonly Dictionary<LabelSet, int> _index = [];
        private LabelSet? _lastLabels;
        private int _last = -1;

        public List<IngestStream> Streams { get; } = [];

        public List<List<LogEntry>> Entries { get; } = [];

        public void Add(LogEntry entry)
        {
            // Entries of a stream usually come in runs: skip the lookup while the labels stay the same.
            var labels = entry.Labels;
            int index;
            if (ReferenceEquals(labels, _lastLabels))
            {
                index = _last;
            }
            else if (!_index.TryGetValue(labels, out index))
            {
                index = Streams.Count;
                _index[labels] = index;
                Streams.Add(new IngestStream(labels, new List<IngestEntry>()));
                Entries.Add([]);
            }

            _lastLabels = labels;
            _last = index;
            ((List<IngestEntry>)Streams[index].Entries).Add(new IngestEntry(entry.Timestamp, entry.LineMemory, Metadata(entry)));
            Entries[index].Add(entry);
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
