using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Wal;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The aggregator's storage. An append is checked and written to the WAL (<see cref="WalAppender"/>, group commit), and
/// once durable stored in per-tenant, per-stream head blocks (<see cref="HeadWriter"/>) that are compressed into blocks
/// appended to each chunk's file; the flusher (<see cref="ChunkFlusher"/>) completes due chunks into the per-tenant label
/// index, the checkpoint (<see cref="WalCheckpointer"/>) then drops the WAL segments they cover, and retention
/// (<see cref="RetentionSweeper"/>) deletes expired chunks. Opening replays the WAL. Readers
/// (<see cref="IngesterReader"/>) select streams by label matchers and read entries across memory and chunk files.
/// </summary>
/// <remarks>Thread-safe: appends of different tenants run in parallel; appends of one tenant apply one at a time and share fsyncs.</remarks>
public sealed partial class LogIngester : IAsyncDisposable
{
    private readonly IngesterOptions _options;
    private readonly ILogger _logger;
    private readonly IngesterState _state;
    private readonly HeadWriter _heads;
    private readonly ChunkFlusher _flusher;
    private readonly RetentionSweeper _retention;
    private readonly IngesterReader _reader;
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly SemaphoreSlim _flushSignal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private WriteAheadLog _wal = null!;
    private WalAppender _appender = null!;
    private WalCheckpointer _checkpointer = null!;
    private ITimer? _flushTimer;
    private ITimer? _retentionTimer;
    private Task _loop = Task.CompletedTask;
    private int _flushRequested;
    private int _retentionDue;
    private int _disposed;

    private LogIngester(IngesterOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _state = new IngesterState(options, time, logger);
        _heads = new HeadWriter(_state, logger);
        _flusher = new ChunkFlusher(_state, _heads, logger);
        _retention = new RetentionSweeper(_state, logger);
        _reader = new IngesterReader(_state, logger);
    }

    /// <summary>What replaying the WAL on open found (records, and damaged places cut).</summary>
    public WalReplayResult Replay { get; private set; } = null!;

    /// <summary>Bytes of log data held in memory (head blocks, and blocks whose chunk file could not be written yet).</summary>
    public long MemoryBytes => _state.MemoryBytes;

    /// <summary>Number of fsyncs the WAL has done.</summary>
    public long WalFsyncCount => _wal.FsyncCount;

    internal WriteAheadLog Wal => _wal;

    /// <summary>Appends waiting for the WAL or being written.</summary>
    internal int AppendsInFlight => _appender.InFlight;

    /// <summary>Opens the store in <see cref="IngesterOptions.DataDirectory"/>, loading each tenant's index and replaying the WAL.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="timeProvider">The clock for chunk ages, idle periods, retention, the fsync interval and append time-outs; default system time.</param>
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
        var state = ingester._state;
        var firstSequence = 0L;
        foreach (var tenant in state.Store.Tenants())
        {
            var tenantState = state.GetOrCreateTenant(tenant);
            firstSequence = Math.Max(firstSequence, tenantState.Index.MaxFlushedThrough() + 1);
        }

        // Chunk files that were still open when the process stopped: the WAL replays what they held.
        state.Store.DeleteProvisional();
        var walOptions = new WalOptions
        {
            Directory = options.WalDirectory,
            FsyncPolicy = options.WalFsyncPolicy,
            FsyncInterval = options.WalFsyncInterval,
            SegmentSize = options.WalSegmentSize,
            WriterGate = options.WalWriterGate,
            BeforeWrite = options.WalBeforeWrite,
        };
        ingester._wal = WriteAheadLog.Open(walOptions, state.Time, logger, firstSequence, ingester.ApplyReplayed, out var replay);
        ingester.Replay = replay;
        ingester._appender = new WalAppender(state, ingester._wal, ingester._heads);
        ingester._checkpointer = new WalCheckpointer(state, ingester._wal);
        ingester._heads.EnforceMemoryLimit();
        if (options.RunBackgroundLoops)
        {
            state.RequestFlush = ingester.SignalFlush;
            ingester._loop = Task.Run(ingester.BackgroundLoopAsync);
            ingester._flushTimer = state.Time.CreateTimer(static s => ((LogIngester)s!).SignalFlush(), ingester, options.FlushCheckPeriod, options.FlushCheckPeriod);
            ingester._retentionTimer = state.Time.CreateTimer(
                static s =>
                {
                    var self = (LogIngester)s!;
                    Interlocked.Exchange(ref self._retentionDue, 1);
                    self.SignalFlush();
                },
                ingester,
                options.RetentionCheckPeriod,
                options.RetentionCheckPeriod);
        }

        return ingester;
    }

    /// <summary>
    /// Appends the entries of one validated push. Entries older than their stream's newest minus half of
    /// <see cref="IngesterOptions.MaxChunkAge"/> are refused (listed in the result); identical entries are stored once.
    /// Durability first: the accepted entries are written to the WAL, and only once they are durable do they become
    /// visible to queries and does this complete. When the WAL write fails nothing of the push is visible, so a retry
    /// of it is stored (not mistaken for a duplicate). At most <see cref="IngesterOptions.MaxQueuedAppends"/> appends wait
    /// for the WAL at a time, and none while memory is over <see cref="IngesterOptions.MemoryLimitBytes"/>: a further
    /// append waits up to <see cref="IngesterOptions.AppendTimeout"/>, then fails with <see cref="IngesterOverloadedException"/>.
    /// </summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="streams">The streams with their entries; the line bytes only need to stay valid until this completes.</param>
    /// <param name="cancellationToken">Stops waiting for room; once queued, the append waits for the WAL.</param>
    /// <returns>Counts of accepted and duplicate entries and the refused entries.</returns>
    /// <exception cref="ArgumentException">The tenant ID is invalid.</exception>
    /// <exception cref="IOException">The WAL write failed; the push must not be acknowledged.</exception>
    /// <exception cref="IngesterOverloadedException">The WAL queue stayed full or memory stayed over its limit; nothing was stored.</exception>
    public ValueTask<AppendResult> AppendAsync(string tenant, IReadOnlyList<IngestStream> streams, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streams);
        return AppendAsync(tenant, new IngestStreamSource(streams), cancellationToken);
    }

    internal ValueTask<AppendResult> AppendAsync(string tenant, AppendSource source, CancellationToken cancellationToken = default)
    {
        LokiTenant.Validate(tenant);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        return _appender.AppendAsync(_state.GetOrCreateTenant(tenant), source, cancellationToken);
    }

    /// <summary>
    /// Ends the chunks that are due (older than <see cref="IngesterOptions.MaxChunkAge"/>, idle for
    /// <see cref="IngesterOptions.ChunkIdlePeriod"/>, or full), completes their chunk files and records them in the index,
    /// then deletes WAL segments whose entries are all in indexed chunks.
    /// </summary>
    /// <param name="all">End and flush every chunk (e.g. before a planned shutdown without WAL).</param>
    /// <param name="cancellationToken">Cancels waiting for a flush already running.</param>
    /// <returns>The number of chunks written.</returns>
    public async Task<int> FlushAsync(bool all = false, CancellationToken cancellationToken = default)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var written = _flusher.Flush(all);
            _checkpointer.Checkpoint();
            return written;
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
            return _retention.Sweep();
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
        return _reader.SelectStreams(tenant, matchers, fromNs, toNs);
    }

    /// <summary>
    /// Reads the entries of one stream in [from, to), across head blocks, blocks of open chunks and flushed chunks, one block
    /// at a time (memory is bounded by the blocks overlapping in time). Identical entries are returned once.
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
        return _reader.ReadEntries(tenant, stream, fromNs, toNs, direction);
    }

    /// <summary>The label names of a tenant's streams (in memory or flushed).</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <returns>The names, sorted.</returns>
    public IReadOnlyList<string> LabelNames(string tenant)
    {
        LokiTenant.Validate(tenant);
        return _reader.LabelNames(tenant);
    }

    /// <summary>The values of one label across a tenant's streams.</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="name">The label name.</param>
    /// <returns>The values, sorted.</returns>
    public IReadOnlyList<string> LabelValues(string tenant, string name)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(name);
        return _reader.LabelValues(tenant, name);
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
            foreach (var state in _state.Tenants)
            {
                CloseFiles(state);
                state.Index.Dispose();
                state.Scratch.Dispose();
                state.FlushScratch.Dispose();
            }
        }
        finally
        {
            _flushLock.Release();
            _state.SignalReleased();
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
        foreach (var state in _state.Tenants)
        {
            CloseFiles(state);
            state.Index.Dispose();
        }
    }

    /// <summary>Closes the chunk files still open; they keep their provisional names and are deleted on the next open.</summary>
    private static void CloseFiles(TenantState tenant)
    {
        lock (tenant.Gate)
        {
            foreach (var stream in tenant.Streams.Values)
            {
                stream.Current?.File?.Close();
                foreach (var chunk in stream.Closed)
                {
                    chunk.File?.Close();
                }
            }
        }
    }

    private void ApplyReplayed(WalRecord record)
    {
        if (!LokiTenant.IsValid(record.Tenant, out var error))
        {
            LogReplaySkipped(_logger, record.Sequence, error);
            return;
        }

        var state = _state.GetOrCreateTenant(record.Tenant);
        var counts = default(AppendCounts);
        lock (state.Gate)
        {
            _heads.Apply(state, record.Payload.Span, record.Sequence, live: null, ref counts);
        }
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
                LogFlushFailed(_logger, ex);
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

    [LoggerMessage(26, LogLevel.Error, "Flushing chunks failed; the next flush retries")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(24, LogLevel.Warning, "WAL record {Sequence} skipped on replay: {Reason}")]
    private static partial void LogReplaySkipped(ILogger logger, long sequence, string reason);
}
