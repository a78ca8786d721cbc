using Pipeline.Loki.Protocol;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aggregator.Index;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Wal;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The aggregator's storage: appends go to the WAL (group commit) and to per-tenant, per-stream head blocks that are
/// compressed into blocks and cut into chunks, which are flushed to chunk files with a per-tenant label index. Opening
/// replays the WAL. Readers select streams by label matchers and read entries across memory and flushed chunks.
/// </summary>
/// <remarks>Thread-safe: appends of different tenants run in parallel; appends of one tenant apply one at a time and share fsyncs.</remarks>
public sealed partial class LogIngester : IAsyncDisposable
{
    private readonly IngesterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ChunkStore _store;
    private readonly ConcurrentDictionary<string, TenantState> _tenants = new(StringComparer.Ordinal);
    private readonly Lock _tenantsLock = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly SemaphoreSlim _flushSignal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly long _windowNs;
    private readonly long _maxChunkAgeNs;
    private WriteAheadLog _wal = null!;
    private ITimer? _flushTimer;
    private ITimer? _retentionTimer;
    private Task _loop = Task.CompletedTask;
    private long _memoryBytes;
    private int _flushRequested;
    private int _retentionDue;
    private int _disposed;

    private LogIngester(IngesterOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _store = new ChunkStore(options.TenantsDirectory);
        _windowNs = ToNanoseconds(options.OutOfOrderWindow);
        _maxChunkAgeNs = ToNanoseconds(options.MaxChunkAge);
    }

    /// <summary>What replaying the WAL on open found (records, and damaged places cut).</summary>
    public WalReplayResult Replay { get; private set; } = null!;

    /// <summary>Bytes of log data held in memory (head blocks and compressed blocks not yet flushed).</summary>
    public long MemoryBytes => Interlocked.Read(ref _memoryBytes);

    /// <summary>Number of fsyncs the WAL has done.</summary>
    public long WalFsyncCount => _wal.FsyncCount;

    internal WriteAheadLog Wal => _wal;

    /// <summary>Opens the store in <see cref="IngesterOptions.DataDirectory"/>, loading each tenant's index and replaying the WAL.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="timeProvider">The clock for chunk ages, idle periods, retention and the fsync interval; default system time.</param>
    /// <param name="loggerFactory">For log messages (damaged WAL records, flush errors); default none.</param>
    /// <returns>The open ingester.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    /// <exception cref="IOException">The data folder cannot be used.</exception>
    public static LogIngester Open(IngesterOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = (ILogger?)loggerFactory?.CreateLogger<LogIngester>() ?? NullLogger.Instance;
        var ingester = new LogIngester(options, timeProvider ?? TimeProvider.System, logger);
        var firstSequence = 0L;
        foreach (var tenant in ingester._store.Tenants())
        {
            var state = ingester.GetOrCreateTenant(tenant);
            firstSequence = Math.Max(firstSequence, state.Index.MaxFlushedThrough() + 1);
        }

        var walOptions = new WalOptions
        {
            Directory = options.WalDirectory,
            FsyncPolicy = options.WalFsyncPolicy,
            FsyncInterval = options.WalFsyncInterval,
            SegmentSize = options.WalSegmentSize,
            WriterGate = options.WalWriterGate,
            BeforeWrite = options.WalBeforeWrite,
        };
        ingester._wal = WriteAheadLog.Open(walOptions, ingester._time, logger, firstSequence, ingester.ApplyReplayed, out var replay);
        ingester.Replay = replay;
        if (options.RunBackgroundLoops)
        {
            ingester._loop = Task.Run(ingester.BackgroundLoopAsync);
            ingester._flushTimer = ingester._time.CreateTimer(static s => ((LogIngester)s!).SignalFlush(), ingester, options.FlushCheckPeriod, options.FlushCheckPeriod);
            ingester._retentionTimer = ingester._time.CreateTimer(
                static s =>
                {
                    var self = (LogIngester)s!;
                    Interlocked.Exchange(ref self._retentionDue, 1);
                    self.SignalFlush();
                },
                ingester,
                options.RetentionCheckPeriod,
                options.RetentionCheckPeriod);
            if (ingester.MemoryBytes > options.MemoryLimitBytes)
            {
                ingester.SignalFlush();
            }
        }

        return ingester;
    }

    /// <summary>
    /// Appends the entries of one validated push. Entries older than their stream's newest minus half of
    /// <see cref="IngesterOptions.MaxChunkAge"/> are refused (listed in the result); identical entries are stored once.
    /// Durability first: the accepted entries are written to the WAL, and only once they are durable do they become
    /// visible to queries and does this complete. When the WAL write fails nothing of the push is visible, so a retry
    /// of it is stored (not mistaken for a duplicate).
    /// </summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="streams">The streams with their entries; the line bytes only need to stay valid until this completes.</param>
    /// <param name="cancellationToken">Checked before the append starts; once queued, the append waits for the WAL.</param>
    /// <returns>Counts of accepted and duplicate entries and the refused entries.</returns>
    /// <exception cref="ArgumentException">The tenant ID is invalid.</exception>
    /// <exception cref="IOException">The WAL write failed; the push must not be acknowledged.</exception>
    public async ValueTask<AppendResult> AppendAsync(string tenant, IReadOnlyList<IngestStream> streams, CancellationToken cancellationToken = default)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(streams);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var state = GetOrCreateTenant(tenant);
        var append = new PendingAppend(this, state);
        Task durable;
        lock (state.Gate)
        {
            var sequence = _wal.ReserveSequence();
            append.Sequence = sequence;
            append.Streams = Check(state, streams, ref append.Counts);

            // The WAL writer stores the entries in memory once they are durable, in sequence order, before this completes.
            durable = _wal.Enqueue(sequence, tenant, append.Streams, append.Store);
        }

        // The WAL writer reads the caller's line bytes, so the append waits for it even if the caller gives up.
        await durable.ConfigureAwait(false);
        if (MemoryBytes > _options.MemoryLimitBytes)
        {
            SignalFlush();
        }

        return new AppendResult(append.Counts.Accepted, append.Counts.Duplicates, append.Counts.Rejections);
    }

    /// <summary>
    /// Cuts the chunks that are due (older than <see cref="IngesterOptions.MaxChunkAge"/>, idle for
    /// <see cref="IngesterOptions.ChunkIdlePeriod"/>, full, or the largest ones when memory passes the limit), writes them to
    /// chunk files and the index, then deletes WAL segments whose entries are all flushed.
    /// </summary>
    /// <param name="all">Cut and flush every chunk (e.g. before a planned shutdown without WAL).</param>
    /// <param name="cancellationToken">Cancels waiting for a flush already running.</param>
    /// <returns>The number of chunks written.</returns>
    public async Task<int> FlushAsync(bool all = false, CancellationToken cancellationToken = default)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return FlushCore(all);
        }
        finally
        {
            _flushLock.Release();
        }
    }

    /// <summary>Deletes flushed chunks whose newest entry is older than the tenant's retention period.</summary>
    /// <param name="cancellationToken">Cancels waiting for a flush already running.</param>
    /// <returns>The number of chunks deleted.</returns>
    public async Task<int> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return RetentionCore();
        }
        finally
        {
            _flushLock.Release();
        }
    }

    /// <summary>The streams of a tenant, in memory or flushed, that match every matcher and have entries in [from, to).</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="matchers">The stream selector's matchers.</param>
    /// <param name="fromNs">Start, inclusive, in Unix nanoseconds.</param>
    /// <param name="toNs">End, exclusive, in Unix nanoseconds.</param>
    /// <returns>The streams' label sets, sorted by their text form.</returns>
    /// <exception cref="ArgumentException">The tenant ID is invalid.</exception>
    public IReadOnlyList<LabelSet> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs = long.MinValue, long toNs = long.MaxValue)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(matchers);
        if (!_tenants.TryGetValue(tenant, out var state))
        {
            return [];
        }

        var found = new HashSet<LabelSet>();
        state.Index.Select(matchers, fromNs, toNs, found);
        lock (state.Gate)
        {
            foreach (var stream in state.Streams.Values)
            {
                if (!found.Contains(stream.Labels) && OverlapsInMemory(stream, fromNs, toNs) && TenantIndex.Matches(stream.Labels, matchers))
                {
                    found.Add(stream.Labels);
                }
            }
        }

        var result = found.ToList();
        result.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return result;
    }

    /// <summary>
    /// Reads the entries of one stream in [from, to), across head blocks, compressed blocks in memory and flushed chunks,
    /// one block at a time (memory is bounded by the blocks overlapping in time). Identical entries are returned once.
    /// </summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="stream">The stream's labels.</param>
    /// <param name="fromNs">Start, inclusive, in Unix nanoseconds.</param>
    /// <param name="toNs">End, exclusive, in Unix nanoseconds.</param>
    /// <param name="direction">Oldest first or newest first.</param>
    /// <returns>The entries, ordered by timestamp (then line bytes).</returns>
    /// <exception cref="ArgumentException">The tenant ID is invalid.</exception>
    public IEnumerable<StoredEntry> ReadEntries(string tenant, LabelSet stream, long fromNs, long toNs, Direction direction = Direction.Forward)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(stream);
        if (!_tenants.TryGetValue(tenant, out var state) || fromNs >= toNs)
        {
            return [];
        }

        var sources = new List<BlockSource>();
        foreach (var chunk in state.Index.Chunks(stream, fromNs, toNs))
        {
            var path = _store.ChunkPath(tenant, stream.Fingerprint, chunk);
            ChunkHeader header;
            long dataOffset;
            try
            {
                header = ChunkFile.ReadHeader(path, out dataOffset);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                LogChunkUnreadable(_logger, path, ex.Message);
                continue;
            }

            foreach (var block in header.Blocks)
            {
                if (block.MinTs < toNs && block.MaxTs >= fromNs)
                {
                    sources.Add(new FileBlockSource(path, dataOffset, block));
                }
            }
        }

        lock (state.Gate)
        {
            if (state.Streams.TryGetValue(stream, out var memory))
            {
                foreach (var chunk in memory.Closed)
                {
                    AddMemorySources(sources, chunk, fromNs, toNs);
                }

                if (memory.Current is { } current)
                {
                    AddMemorySources(sources, current, fromNs, toNs);
                }
            }
        }

        return EntryMerger.Merge(sources, fromNs, toNs, direction);
    }

    /// <summary>The label names of a tenant's streams (in memory or flushed).</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <returns>The names, sorted.</returns>
    public IReadOnlyList<string> LabelNames(string tenant)
    {
        LokiTenant.Validate(tenant);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (_tenants.TryGetValue(tenant, out var state))
        {
            state.Index.LabelNames(names);
            lock (state.Gate)
            {
                foreach (var stream in state.Streams.Values)
                {
                    foreach (var label in stream.Labels)
                    {
                        names.Add(label.Name);
                    }
                }
            }
        }

        var result = names.ToList();
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>The values of one label across a tenant's streams.</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="name">The label name.</param>
    /// <returns>The values, sorted.</returns>
    public IReadOnlyList<string> LabelValues(string tenant, string name)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(name);
        var values = new HashSet<string>(StringComparer.Ordinal);
        if (_tenants.TryGetValue(tenant, out var state))
        {
            state.Index.LabelValues(name, values);
            lock (state.Gate)
            {
                foreach (var stream in state.Streams.Values)
                {
                    if (stream.Labels[name] is { } value)
                    {
                        values.Add(value);
                    }
                }
            }
        }

        var result = values.ToList();
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>Stops the background loops and closes the WAL (its records are replayed on the next open); chunks are not cut.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopLoopsAsync().ConfigureAwait(false);
        await _flushLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _wal.DisposeAsync().ConfigureAwait(false);
            foreach (var state in _tenants.Values)
            {
                state.Index.Dispose();
                state.Scratch.Dispose();
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    /// <summary>Drops everything without writing or fsyncing what is queued: the state an unclean stop leaves (for tests).</summary>
    internal void Abandon()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _flushTimer?.Dispose();
        _retentionTimer?.Dispose();
        _stopping.Cancel();
        _wal.Abandon();
        foreach (var state in _tenants.Values)
        {
            state.Index.Dispose();
        }
    }

    private static long ToNanoseconds(TimeSpan span) => span.Ticks * 100;

    private static long NowNanoseconds(TimeProvider time) => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static string FormatTimestamp(long ns) =>
        DateTimeOffset.UnixEpoch.AddTicks(ns / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static bool OverlapsInMemory(StreamState stream, long from, long to)
    {
        foreach (var chunk in stream.Closed)
        {
            if (chunk.MinTs < to && chunk.MaxTs >= from)
            {
                return true;
            }
        }

        return stream.Current is { } current && current.MinTs < to && current.MaxTs >= from;
    }

    private static void AddMemorySources(List<BlockSource> sources, MemoryChunk chunk, long from, long to)
    {
        foreach (var block in chunk.Blocks)
        {
            if (block.MinTs < to && block.MaxTs >= from && block.TryAcquire())
            {
                sources.Add(new MemoryBlockSource(block));
            }
        }

        if (chunk.Head.Snapshot(from, to) is { } head)
        {
            sources.Add(new DecodedBlockSource(head, head.Timestamps[0], head.Timestamps[^1]));
        }
    }

    private TenantState GetOrCreateTenant(string tenant)
    {
        if (_tenants.TryGetValue(tenant, out var state))
        {
            return state;
        }

        lock (_tenantsLock)
        {
            if (!_tenants.TryGetValue(tenant, out state))
            {
                state = new TenantState(tenant, TenantIndex.Open(_store.TenantDirectory(tenant), _logger));
                _tenants[tenant] = state;
            }

            return state;
        }
    }

    private void ApplyReplayed(WalRecord record)
    {
        if (!LokiTenant.IsValid(record.Tenant, out var error))
        {
            LogReplaySkipped(_logger, record.Sequence, error);
            return;
        }

        var state = GetOrCreateTenant(record.Tenant);
        var counts = default(Counts);
        lock (state.Gate)
        {
            Store(state, record.Streams, record.Sequence, replay: true, ref counts);
        }
    }

    /// <summary>
    /// Refuses the entries too far behind their stream's newest (under the tenant's gate, before the WAL write); returns
    /// what goes to the WAL. Nothing becomes visible here.
    /// </summary>
    private List<IngestStream> Check(TenantState tenant, IReadOnlyList<IngestStream> streams, ref Counts counts)
    {
        var toWal = new List<IngestStream>(streams.Count);
        for (var s = 0; s < streams.Count; s++)
        {
            var input = streams[s];
            var stream = GetOrCreateStream(tenant, input.Labels);
            var entries = input.Entries;
            List<IngestEntry>? kept = null;
            for (var e = 0; e < entries.Count; e++)
            {
                var entry = entries[e];
                var ts = entry.TimestampNs;
                if (stream.HighestTs != long.MinValue && ts < stream.HighestTs - _windowNs)
                {
                    kept ??= Prefix(entries, e);
                    counts.Reject(new AppendRejection(
                        s,
                        e,
                        ts,
                        RejectionReason.TooFarBehind,
                        $"entry too far behind, entry timestamp is: {FormatTimestamp(ts)}, oldest acceptable timestamp is: {FormatTimestamp(stream.HighestTs - _windowNs)}"));
                    continue;
                }

                kept?.Add(entry);
                stream.HighestTs = Math.Max(stream.HighestTs, ts);
            }

            if (kept is null)
            {
                toWal.Add(input);
            }
            else if (kept.Count > 0)
            {
                toWal.Add(new IngestStream(input.Labels, kept));
            }
        }

        return toWal;
    }

    private static StreamState GetOrCreateStream(TenantState tenant, LabelSet labels)
    {
        if (!tenant.Streams.TryGetValue(labels, out var stream))
        {
            stream = new StreamState(labels, tenant.Index.FlushedThrough(labels));
            tenant.Streams.Add(labels, stream);
        }

        return stream;
    }

    /// <summary>Stores one durable record's entries in memory (under the tenant's gate): from then on queries see them.</summary>
    private void Store(TenantState tenant, IReadOnlyList<IngestStream> streams, long sequence, bool replay, ref Counts counts)
    {
        var now = _time.GetUtcNow();
        for (var s = 0; s < streams.Count; s++)
        {
            var input = streams[s];
            var stream = GetOrCreateStream(tenant, input.Labels);
            if (replay && sequence <= stream.FlushedThroughSequence)
            {
                continue; // Already in a flushed chunk.
            }

            var entries = input.Entries;
            var touched = false;
            for (var e = 0; e < entries.Count; e++)
            {
                var entry = entries[e];
                var ts = entry.TimestampNs;
                var chunk = stream.Current ??= new MemoryChunk(sequence, now, _options.BlockSize);
                var added = chunk.Head.TryAppend(ts, entry.Line.Span, entry.Metadata);
                if (added < 0)
                {
                    counts.Duplicates++;
                    continue;
                }

                touched = true;
                counts.Accepted++;
                Interlocked.Add(ref _memoryBytes, added);
                chunk.MinTs = Math.Min(chunk.MinTs, ts);
                chunk.MaxTs = Math.Max(chunk.MaxTs, ts);
                stream.HighestTs = Math.Max(stream.HighestTs, ts);
                if (chunk.Head.SizeBytes >= _options.BlockSize)
                {
                    CutHead(tenant, chunk);
                }
            }

            if (touched)
            {
                var chunk = stream.Current!;
                chunk.LastSequence = Math.Max(chunk.LastSequence, sequence);
                chunk.LastAppendAt = now;
                stream.LastAppendAt = now;
                if (chunk.FillBytes >= _options.TargetChunkSize)
                {
                    Close(tenant, stream);
                    SignalFlush();
                }
            }
        }
    }

    private static List<IngestEntry> Prefix(IReadOnlyList<IngestEntry> entries, int count)
    {
        var list = new List<IngestEntry>(entries.Count);
        for (var i = 0; i < count; i++)
        {
            list.Add(entries[i]);
        }

        return list;
    }

    private void CutHead(TenantState tenant, MemoryChunk chunk)
    {
        var before = chunk.Head.SizeBytes;
        var block = chunk.Head.Cut(tenant.Scratch);
        chunk.Blocks.Add(block);
        chunk.CompressedBytes += block.Length;
        Interlocked.Add(ref _memoryBytes, block.Length - before);
    }

    private void Close(TenantState tenant, StreamState stream)
    {
        if (stream.Current is not { } chunk)
        {
            return;
        }

        if (chunk.Head.Count > 0)
        {
            CutHead(tenant, chunk);
        }

        stream.Current = null;
        chunk.Head.Dispose();
        if (chunk.Blocks.Count > 0)
        {
            stream.Closed.Add(chunk);
        }
    }

    private int FlushCore(bool all)
    {
        var now = _time.GetUtcNow();
        foreach (var tenant in _tenants.Values)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    if (stream.Current is { } chunk &&
                        (all ||
                         now - chunk.CreatedAt >= _options.MaxChunkAge ||
                         now - chunk.LastAppendAt >= _options.ChunkIdlePeriod ||
                         chunk.MaxTs - chunk.MinTs >= _maxChunkAgeNs))
                    {
                        Close(tenant, stream);
                    }
                }
            }
        }

        if (MemoryBytes > _options.MemoryLimitBytes)
        {
            CloseLargest();
        }

        var written = 0;
        foreach (var tenant in _tenants.Values)
        {
            written += FlushTenant(tenant, now);
        }

        Checkpoint();
        return written;
    }

    /// <summary>Over the memory limit: cuts the largest open chunks until what stays open is under half the limit.</summary>
    private void CloseLargest()
    {
        var open = new List<(TenantState Tenant, StreamState Stream, long Bytes)>();
        long pending = 0;
        foreach (var tenant in _tenants.Values)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    if (stream.Current is { } chunk)
                    {
                        open.Add((tenant, stream, chunk.MemoryBytes));
                    }
                }
            }
        }

        open.Sort(static (a, b) => b.Bytes.CompareTo(a.Bytes));
        var target = _options.MemoryLimitBytes / 2;
        var remaining = MemoryBytes;
        foreach (var (tenant, stream, bytes) in open)
        {
            if (remaining - pending <= target)
            {
                break;
            }

            lock (tenant.Gate)
            {
                Close(tenant, stream);
            }

            pending += bytes;
        }

        LogMemoryPressure(_logger, remaining, _options.MemoryLimitBytes);
    }

    private int FlushTenant(TenantState tenant, DateTimeOffset now)
    {
        var work = new List<(StreamState Stream, MemoryChunk Chunk)>();
        lock (tenant.Gate)
        {
            foreach (var stream in tenant.Streams.Values)
            {
                foreach (var chunk in stream.Closed)
                {
                    work.Add((stream, chunk));
                }
            }
        }

        if (work.Count == 0)
        {
            return 0;
        }

        var done = new List<(StreamState Stream, MemoryChunk Chunk)>(work.Count);
        HashSet<StreamState>? failed = null;
        foreach (var (stream, chunk) in work)
        {
            if (failed?.Contains(stream) == true)
            {
                continue; // Keep a stream's chunks in order: its flushed-through sequence must not skip one.
            }

            try
            {
                var chunkRef = _store.Write(tenant.Id, stream.Labels, chunk.Blocks);
                tenant.Index.Add(stream.Labels, chunkRef, chunk.LastSequence);
                done.Add((stream, chunk));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (failed ??= []).Add(stream);
                LogFlushFailed(_logger, tenant.Id, stream.Labels.ToString(), ex);
            }
        }

        tenant.Index.Sync();
        lock (tenant.Gate)
        {
            foreach (var (stream, chunk) in done)
            {
                stream.Closed.Remove(chunk);
                foreach (var block in chunk.Blocks)
                {
                    block.Release();
                }

                stream.FlushedThroughSequence = Math.Max(stream.FlushedThroughSequence, chunk.LastSequence);
                Interlocked.Add(ref _memoryBytes, -chunk.MemoryBytes);
                if (stream.IsEmpty && now - stream.LastAppendAt >= _options.ChunkIdlePeriod)
                {
                    tenant.Streams.Remove(stream.Labels);
                }
            }
        }

        return done.Count;
    }

    private void Checkpoint()
    {
        // Read the next sequence first: a record applied while we scan has a sequence at least this large.
        var next = _wal.NextSequence;
        var min = next;
        foreach (var tenant in _tenants.Values)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    min = Math.Min(min, stream.MinUnflushedSequence);
                }
            }
        }

        if (min == next)
        {
            _wal.Rotate(); // Everything is flushed: close the current segment so that it can go too.
        }

        _wal.DeleteSegmentsBefore(min);
    }

    private int RetentionCore()
    {
        var nowNs = NowNanoseconds(_time);
        var deleted = 0;
        foreach (var tenant in _tenants.Values)
        {
            var period = _options.RetentionFor(tenant.Id);
            if (period <= TimeSpan.Zero)
            {
                continue;
            }

            var cutoff = nowNs - ToNanoseconds(period);
            foreach (var (labels, chunks) in tenant.Index.Snapshot())
            {
                foreach (var chunk in chunks)
                {
                    if (chunk.MaxTs < cutoff)
                    {
                        tenant.Index.Remove(labels, chunk);
                        try
                        {
                            _store.Delete(tenant.Id, labels.Fingerprint, chunk);
                        }
                        catch (IOException ex)
                        {
                            LogFlushFailed(_logger, tenant.Id, labels.ToString(), ex);
                        }

                        deleted++;
                    }
                }
            }

            tenant.Index.Sync();
            tenant.Index.CompactIfWorthIt();
        }

        if (deleted > 0)
        {
            LogRetention(_logger, deleted);
        }

        return deleted;
    }

    private void SignalFlush()
    {
        if (Interlocked.Exchange(ref _flushRequested, 1) == 0)
        {
            _flushSignal.Release();
        }
    }

    private async Task BackgroundLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _flushSignal.WaitAsync(token).ConfigureAwait(false);
                Interlocked.Exchange(ref _flushRequested, 0);
                await FlushAsync(all: false, token).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _retentionDue, 0) == 1)
                {
                    await ApplyRetentionAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A background loop never throws into the host; the next signal retries.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFlushFailed(_logger, "*", "*", ex);
            }
        }
    }

    private async Task StopLoopsAsync()
    {
        if (_flushTimer is not null)
        {
            await _flushTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_retentionTimer is not null)
        {
            await _retentionTimer.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    [LoggerMessage(20, LogLevel.Error, "Flushing chunks of tenant {Tenant}, stream {Stream} failed; they stay in memory and are retried")]
    private static partial void LogFlushFailed(ILogger logger, string tenant, string stream, Exception exception);

    [LoggerMessage(21, LogLevel.Warning, "Ingester memory {Bytes} bytes passed the limit of {Limit}; cutting the largest chunks")]
    private static partial void LogMemoryPressure(ILogger logger, long bytes, long limit);

    [LoggerMessage(22, LogLevel.Information, "Retention deleted {Count} chunk(s)")]
    private static partial void LogRetention(ILogger logger, int count);

    [LoggerMessage(23, LogLevel.Warning, "Chunk {Path} cannot be read and is skipped: {Reason}")]
    private static partial void LogChunkUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(24, LogLevel.Warning, "WAL record {Sequence} skipped on replay: {Reason}")]
    private static partial void LogReplaySkipped(ILogger logger, long sequence, string reason);

    /// <summary>One append between its check and its store, which the WAL writer runs once the record is durable.</summary>
    private sealed class PendingAppend(LogIngester ingester, TenantState tenant)
    {
        public Counts Counts;

        public long Sequence { get; set; }

        public IReadOnlyList<IngestStream> Streams { get; set; } = [];

        public void Store()
        {
            lock (tenant.Gate)
            {
                ingester.Store(tenant, Streams, Sequence, replay: false, ref Counts);
            }
        }
    }

    private struct Counts
    {
        public int Accepted;
        public int Duplicates;
        public List<AppendRejection>? Rejections;

        public void Reject(AppendRejection rejection) => (Rejections ??= []).Add(rejection);
    }
}
