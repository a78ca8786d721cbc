using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Pipeline.Diagnostics;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Sources.Files;

/// <summary>
/// Tails log files like Promtail: finds them by glob (Kubernetes node layouts included), reads new lines through
/// a <see cref="PipeReader"/>, follows rotation, truncation and deletion, and commits per file the offset of the
/// last line every sink acknowledged to a positions file, so a restart loses nothing and repeats only what was
/// not acknowledged.
/// </summary>
/// <remarks>
/// <para>One loop serves every file: each round it rescans when the scan interval is due, reads every file that
/// grew (up to a fair share per file per round), and waits for the poll interval (or a file-system watcher hint)
/// when nothing was new. Emission waits when downstream is full, so a slow or dead sink stops reading: the files are
/// the buffer. Scans go on while emission waits, so the generations that rotate meanwhile are found and kept open.</para>
/// <para>Rotation: each target path has a lineage of generations, read oldest first. A file whose path now names
/// another file (rename + create, kubelet's <c>0.log</c> -> <c>0.log.&lt;timestamp&gt;</c>, logrotate's
/// <c>app.log.1</c>) or that was deleted is read to its end through its handle, else where a scan last saw it (by
/// device and inode among the target's rotated siblings), else in its compressed form (<c>.gz</c>, found by the
/// fingerprint of its first bytes, decompressed and skipped to the offset); then it is let go. A sibling that
/// appears under a rotated name without ever having been seen at the target path (it rotated between two scans) is
/// read from its start; siblings already read, or there before the agent first started, are not.</para>
/// <para>Restart: the positions file keeps every generation not yet fully acknowledged (identity, fingerprint,
/// offset of the last acknowledged line, where it was last seen), and is written as acknowledgements arrive. At
/// start each stored generation is looked for among its target's siblings and resumed at its offset; siblings
/// rotated after the newest stored one are read from their start; older ones are not read again.</para>
/// <para>copytruncate: a file smaller than the position, or whose first bytes changed, was truncated. Before it
/// is read again from 0, the rest of its previous content is read from the copy (the sibling whose first bytes
/// match the fingerprint, plain or compressed) from the position reached. Each read of a live file is checked against
/// its first bytes before it is used, so a truncation racing a read never passes new bytes off as old. Files are opened
/// without .NET's advisory lock, so a .NET writer's exclusive open never fails because of the agent. The one window that remains is
/// logrotate's own: lines written after the copy was taken and before the truncation are in neither file, and
/// cannot be read by anyone (logrotate's manual says so); lines written before the copy are never lost.</para>
/// <para>Loss: only a generation deleted outright (not renamed, copied or compressed) while the agent held no
/// handle to it and before it was read to its end; it is logged with its path and counted as dropped with
/// reason <c>deleted_before_read</c> (lines estimated from the target's average line length; the exact byte count
/// on <see cref="DroppedBytesInstrument"/>).</para>
/// </remarks>
public sealed partial class FileTailSource : ILogSource, IDrainAware
{
    /// <summary>The meter of the file source's own instruments (besides the pipeline's four).</summary>
    public const string MeterName = "Pipeline.Files";

    /// <summary>
    /// Bytes of log files lost before they were read, tagged with <c>pipeline</c>, <c>component</c> and
    /// <c>reason</c> (<c>deleted_before_read</c>): a Prometheus exporter shows <c>pipeline_file_dropped_bytes_total</c>.
    /// </summary>
    public const string DroppedBytesInstrument = "pipeline.file.dropped_bytes";

    /// <summary>The drop reason of a file deleted before it was read to its end.</summary>
    public const string DeletedBeforeRead = "deleted_before_read";

    private const string DroppedTooLong = "line_too_long";
    private const int MaxBytesPerTurn = 4 * 1024 * 1024;

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Counter<long> s_droppedBytes = s_meter.CreateCounter<long>(DroppedBytesInstrument, "By", "Bytes of log files lost before they were read, by reason.");

    private readonly FileTailOptions _options;
    private readonly LabelSet _staticLabels;
    private readonly Dictionary<FileIdentity, TailedFile> _files = [];
    private readonly List<TailedFile> _order = [];
    private readonly Dictionary<string, TargetLineage> _lineages = new(StringComparer.Ordinal);
    private readonly Lock _stateLock = new();
    private readonly Lock _signalLock = new();
    private readonly List<(long Round, TaskCompletionSource Signal)> _roundWaiters = [];
    private TaskCompletionSource _poke = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _scanned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _roundsStarted;
    private IReadOnlyList<TailTarget> _targets = [];
    private Run? _finishedRun;
    private PositionsStore? _store;
    private volatile bool _scanRequested;
    private int _openHandles;
    private long _truncatedLines;
    private long _lostBytes;
    private long _lostFiles;

    /// <summary>Creates the source; the options are validated and copied.</summary>
    /// <param name="options">The settings.</param>
    /// <exception cref="ArgumentException">A setting is invalid (the message names it).</exception>
    public FileTailSource(FileTailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
        _staticLabels = LabelSet.Create(_options.Labels);
    }

    /// <summary>How many file handles are open now.</summary>
    internal int OpenHandleCount => Volatile.Read(ref _openHandles);

    /// <summary>How many files are tracked (open or idle).</summary>
    internal int TrackedFileCount { get; private set; }

    /// <summary>How many lines were truncated to the maximum line size.</summary>
    internal long TruncatedLines => Interlocked.Read(ref _truncatedLines);

    /// <summary>How many bytes were lost to files deleted before they were read.</summary>
    internal long LostBytes => Interlocked.Read(ref _lostBytes);

    /// <summary>How many files were deleted before they were read to their end.</summary>
    internal long LostFiles => Interlocked.Read(ref _lostFiles);

    /// <summary>How many times the positions file was written.</summary>
    internal long PositionsWrites => _store?.Writes ?? 0;

    /// <summary>Completes after the next scan (also one made while emission waits, when no round can finish).</summary>
    internal Task NextScan => Volatile.Read(ref _scanned).Task;


    /// <summary>Completes after the positions file's next write.</summary>
    internal Task NextPositionsWrite => _store?.NextWrite ?? Task.CompletedTask;

    /// <summary>Asks for a round now (and a rescan), without waiting for the poll interval.</summary>
    internal void RequestPoll()
    {
        _scanRequested = true;
        _poke.TrySetResult();
    }

    /// <summary>Requests a round with a rescan and waits until a round that started after this call has finished.</summary>
    /// <returns>A task that completes after that round.</returns>
    internal Task PollAsync()
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_signalLock)
        {
            _roundWaiters.Add((_roundsStarted + 1, signal));
        }

        RequestPoll();
        return signal.Task;
    }

    /// <inheritdoc/>
    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var time = context.TimeProvider;
        var positions = _options.PositionsPath is null ? null : PositionsStore.Acquire(_options.PositionsPath, time, context.Logger);
        _store = positions;
        var run = new Run(this, context, positions);
        var watchers = _options.UseFileSystemWatcher ? StartWatchers(run.Discovery, context.Logger) : [];
        var nextSync = time.GetUtcNow() + _options.SyncPeriod;
        var nextSnapshot = DateTimeOffset.MinValue;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var round = Interlocked.Increment(ref _roundsStarted);
                run.ScanIfDue(time.GetUtcNow());
                var progressed = await run.ReadAllAsync(cancellationToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                run.PruneSettled();
                if (now >= nextSync)
                {
                    // Positions are written as acknowledgements arrive; this also forgets entries of files long gone.
                    run.RequestSave(prune: true);
                    nextSync = now + _options.SyncPeriod;
                }

                run.CloseIdle(now);
                TrackedFileCount = _files.Count;
                if (now >= nextSnapshot)
                {
                    PublishTargets();
                    nextSnapshot = now + TargetsRefresh;
                }

                CompleteRound(round);
                if (!progressed)
                {
                    await WaitForPollAsync(time, run.NextScan, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var watcher in watchers)
            {
                watcher.Dispose();
            }

            run.CloseAll();
            run.ReleasePendingChunk();

            // What is acknowledged so far; OnDrainedAsync writes the final positions once the sinks have finished.
            run.SavePositions();
            _finishedRun = run;
            CompleteRound(long.MaxValue);
        }
    }

    /// <summary>
    /// The files being tailed, with their read and committed positions and state, as of the last refresh (about
    /// once a second): what an agent's <c>/targets</c> page shows.
    /// </summary>
    public IReadOnlyList<TailTarget> Targets => Volatile.Read(ref _targets);

    private static readonly TimeSpan TargetsRefresh = TimeSpan.FromSeconds(1);

    private void PublishTargets()
    {
        var targets = new TailTarget[_order.Count];
        for (var i = 0; i < targets.Length; i++)
        {
            var file = _order[i];
            var state = file.Finishing ? "finishing" : file.Stream is null ? "idle" : "reading";
            targets[i] = new TailTarget(file.Path, file.Labels, file.Splitter.Position, file.Tracker.CommittedPosition, file.LastSize, state);
        }

        Volatile.Write(ref _targets, targets);
    }

    /// <summary>Writes the final positions: by now every sink has acknowledged (or will never acknowledge) what was read.</summary>
    /// <param name="cancellationToken">Not used.</param>
    /// <returns>A task that completes once they are written.</returns>
    public async Task OnDrainedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _finishedRun, null) is { } run)
        {
            await run.FinishAsync().ConfigureAwait(false);
        }
    }

    private void CompleteRound(long round)
    {
        List<TaskCompletionSource>? done = null;
        lock (_signalLock)
        {
            for (var i = _roundWaiters.Count - 1; i >= 0; i--)
            {
                if (_roundWaiters[i].Round <= round)
                {
                    (done ??= []).Add(_roundWaiters[i].Signal);
                    _roundWaiters.RemoveAt(i);
                }
            }
        }

        if (done is not null)
        {
            foreach (var signal in done)
            {
                signal.TrySetResult();
            }
        }
    }

    /// <summary>Waits for the poll interval, a poke, or the next scan, whichever comes first.</summary>
    private async Task WaitForPollAsync(TimeProvider time, DateTimeOffset nextScan, CancellationToken cancellationToken)
    {
        var poke = _poke;
        var now = time.GetUtcNow();
        var wait = nextScan - now < _options.PollInterval ? nextScan - now : _options.PollInterval;
        if (!poke.Task.IsCompleted && wait > TimeSpan.Zero)
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(wait, time, delayCancel.Token);

            // A clock that moved on between reading it and starting the timer would leave the timer late.
            if (time.GetUtcNow() < now + wait)
            {
                await Task.WhenAny(delay, poke.Task).ConfigureAwait(false);
            }

            await delayCancel.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        // A poke that arrives after this swap wakes the next wait; one that arrived before is served by the coming round.
        Interlocked.CompareExchange(ref _poke, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), poke);
    }

    private List<FileSystemWatcher> StartWatchers(FileDiscovery discovery, ILogger logger)
    {
        var watchers = new List<FileSystemWatcher>();
        foreach (var root in discovery.WatchRoots.Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(root) || root == "/")
            {
                continue;
            }

            try
            {
                var watcher = new FileSystemWatcher(root) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size };
                watcher.Created += (_, _) => RequestPoll();
                watcher.Renamed += (_, _) => RequestPoll();
                watcher.Deleted += (_, _) => RequestPoll();
                watcher.Changed += (_, _) => _poke.TrySetResult();
                watcher.Error += (_, _) => RequestPoll();
                watcher.EnableRaisingEvents = true;
                watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                FileTailLog.WatcherUnavailable(logger, ex, root);
            }
        }

        return watchers;
    }

    /// <summary>One run's working state (what a restart rebuilds from the positions file).</summary>
    private sealed partial class Run
    {
        private readonly FileTailSource _source;
        private readonly SourceContext _context;
        private readonly FileTailOptions _options;
        private readonly PositionsStore? _positions;
        private readonly PositionsWriter? _writer;
        private readonly bool _positionsWereCorrupt;
        private readonly List<TailedFile> _inChunk = [];
        private readonly List<TailedFile> _settling = [];
        private readonly byte[] _head = new byte[FileFingerprint.Size];
        private readonly Dictionary<FileIdentity, (long Size, long ModifiedNs)> _unsettledSiblings = [];
        private readonly KeyValuePair<string, object?>[] _tags;
        private bool _firstScan = true;
        private EntryChunk? _chunk;

        public Run(FileTailSource source, SourceContext context, PositionsStore? positions)
        {
            _source = source;
            _context = context;
            _options = source._options;
            _positions = positions;
            _positionsWereCorrupt = positions?.WasCorrupt ?? false;
            _writer = positions is null ? null : new PositionsWriter(positions, this, FillSnapshot);
            _tags =
            [
                new(PipelineInstruments.PipelineTag, context.PipelineName),
                new(PipelineInstruments.ComponentTag, context.Name),
                new(PipelineInstruments.ReasonTag, DeletedBeforeRead),
            ];
            Discovery = new FileDiscovery(_options.Include, _options.Exclude, _options.IncludeRotated, source._staticLabels, context.Logger);
        }

        public FileDiscovery Discovery { get; }

        /// <summary>When the next scan is due.</summary>
        public DateTimeOffset NextScan { get; private set; } = DateTimeOffset.MinValue;

        private Dictionary<FileIdentity, TailedFile> Files => _source._files;

        private List<TailedFile> Order => _source._order;

        private Dictionary<string, TargetLineage> Lineages => _source._lineages;

        private Lock StateLock => _source._stateLock;

        public void ScanIfDue(DateTimeOffset now)
        {
            if (_source._scanRequested || now >= NextScan)
            {
                _source._scanRequested = false;
                Scan(now);
                NextScan = now + _options.ScanInterval;
            }
        }

        public async Task<bool> ReadAllAsync(CancellationToken cancellationToken)
        {
            var progressed = false;
            var now = _context.TimeProvider.GetUtcNow();
            var timestamp = (now - DateTimeOffset.UnixEpoch).Ticks * 100;

            // Finishing files go first: a rotated file's rest precedes the new file at its path.
            for (var pass = 0; pass < 2; pass++)
            {
                for (var i = 0; i < Order.Count; i++)
                {
                    var file = Order[i];
                    if (file.Released || file.Finishing != (pass == 0))
                    {
                        continue;
                    }

                    progressed |= await ReadFileAsync(file, now, timestamp, cancellationToken).ConfigureAwait(false);
                }
            }

            lock (StateLock)
            {
                for (var i = Order.Count - 1; i >= 0; i--)
                {
                    if (Order[i].Released)
                    {
                        Order.RemoveAt(i);
                    }
                }
            }

            await FlushChunkAsync(cancellationToken).ConfigureAwait(false);
            return progressed;
        }

        public void CloseIdle(DateTimeOffset now)
        {
            foreach (var file in Order)
            {
                if (file.Stream is not null && !file.Finishing && !file.Reading && now - file.LastActivity >= _options.IdleTimeout)
                {
                    Close(file);
                }
            }
        }

        public void CloseAll()
        {
            foreach (var file in Order)
            {
                Close(file);
            }
        }

        /// <summary>Stops the positions writer, writes the final positions and gives up the shared positions file.</summary>
        public async Task FinishAsync()
        {
            if (_writer is not null)
            {
                await _writer.StopAsync().ConfigureAwait(false);
            }

            SavePositions();
            _positions?.Release();
        }

        public void ReleasePendingChunk()
        {
            _chunk?.Release();
            _chunk = null;
        }

        /// <summary>Writes the positions now, on this thread.</summary>
        public void SavePositions() => _positions?.Save(this, Snapshot());

        /// <summary>Asks the positions writer for a write.</summary>
        public void RequestSave(bool prune = false) => _writer?.Request(prune);

        /// <summary>Forgets released files whose last lines are now acknowledged.</summary>
        public void PruneSettled()
        {
            var pruned = false;
            lock (StateLock)
            {
                for (var i = _settling.Count - 1; i >= 0; i--)
                {
                    if (_settling[i].IsSettled)
                    {
                        _settling.RemoveAt(i);
                        pruned = true;
                    }
                }
            }

            if (pruned)
            {
                RequestSave();
            }
        }

        /// <summary>What the positions file holds for this source now.</summary>
        private List<PositionEntry> Snapshot()
        {
            var entries = new List<PositionEntry>(Order.Count + _settling.Count);
            FillSnapshot(entries);
            return entries;
        }

        /// <summary>Adds every generation not released, and released ones not yet fully acknowledged, to <paramref name="entries"/>.</summary>
        private void FillSnapshot(List<PositionEntry> entries)
        {
            lock (StateLock)
            {
                foreach (var file in Order)
                {
                    if (!file.Released)
                    {
                        entries.Add(file.ToEntry());
                    }
                }

                foreach (var file in _settling)
                {
                    entries.Add(file.ToEntry());
                }

                foreach (var file in Order)
                {
                    // A current file too short to be fingerprinted is stored with the generation read before it.
                    if (!file.Released && !file.Finishing && !file.Fingerprint.IsComplete && file.Lineage.Predecessor is { } predecessor && !IsSettling(predecessor))
                    {
                        entries.Add(predecessor);
                    }
                }
            }
        }

        private bool IsSettling(PositionEntry entry)
        {
            foreach (var file in _settling)
            {
                if (file.Identity == entry.Identity && file.Fingerprint == entry.Fingerprint)
                {
                    return true;
                }
            }

            return false;
        }

        private async Task<bool> ReadFileAsync(TailedFile file, DateTimeOffset now, long timestamp, CancellationToken cancellationToken)
        {
            if (!file.Lineage.IsHead(file))
            {
                // An older generation of the same target is read first, so the stream's lines stay in order.
                return false;
            }

            file.Reading = true;
            try
            {
                return file.Compressed
                    ? await ReadCompressedAsync(file, timestamp, cancellationToken).ConfigureAwait(false)
                    : await ReadPlainAsync(file, now, timestamp, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                file.Reading = false;
            }
        }

        private async Task<bool> ReadPlainAsync(TailedFile file, DateTimeOffset now, long timestamp, CancellationToken cancellationToken)
        {
            if (file.Stream is null)
            {
                if (file.Finishing)
                {
                    var located = TryLocate(file);
                    if (located != Located.Opened)
                    {
                        if (located == Located.Gone)
                        {
                            GiveUp(file);
                        }

                        return false;
                    }

                    if (file.Compressed)
                    {
                        return await ReadCompressedAsync(file, timestamp, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    // An idle (closed) file: reopen it by path only if that path still names it and it grew.
                    if (!FileStat.TryStat(file.Path, out var byPath) || byPath.Identity != file.Identity)
                    {
                        // Renamed or deleted while closed: find it where it went, next round.
                        SetFinishing(file);
                        return true;
                    }

                    if ((byPath.Size == file.LastSize && byPath.ModifiedNs == file.LastModified) || !TryOpen(file))
                    {
                        return false;
                    }
                }
            }

            var stream = file.Stream!;
            if (!FileStat.TryStat(stream.SafeFileHandle, file.Path, out var status))
            {
                Release(file, "stat failed");
                return false;
            }

            if (status.Links == 0 && !file.Finishing)
            {
                SetFinishing(file);
            }

            if (status.Size > file.KnownSize)
            {
                file.KnownSize = status.Size;
            }

            // Size alone misses a copytruncate that regrew to the same size, so a changed mtime counts as a change too.
            var changed = status.Size != file.LastSize || status.ModifiedNs != file.LastModified;
            file.LastModified = status.ModifiedNs;
            if (status.Size < file.Splitter.Position || (changed && FingerprintChanged(file, status.Size)))
            {
                if (file.Finishing)
                {
                    // A rotated file is not written to, let alone truncated; what it held past its size is gone.
                    FileTailLog.Truncated(_context.Logger, file.SeenAt ?? file.Path, status.Size, file.Splitter.Position);
                    Release(file, "truncated after it was rotated");
                    return false;
                }

                await TruncatedAsync(file, status, cancellationToken).ConfigureAwait(false);
                return true;
            }

            if (!changed)
            {
                if (file.Finishing)
                {
                    var more = await ReadAsync(file, timestamp, isFinal: true, cancellationToken).ConfigureAwait(false);
                    if (!more)
                    {
                        Release(file, status.Links == 0 ? "deleted" : "rotated");
                    }

                    return more;
                }

                return false;
            }

            file.LastActivity = now;
            if (!file.Fingerprint.IsComplete && status.Size > file.Fingerprint.Length && file.Splitter.Position > file.HeadLength)
            {
                // Resumed past its first bytes: the fingerprint can only be completed from the file as it is now.
                var fingerprint = FileFingerprint.Read(stream.SafeFileHandle);
                lock (StateLock)
                {
                    file.Fingerprint = fingerprint;
                }
            }

            return await ReadAsync(file, timestamp, file.Finishing, cancellationToken).ConfigureAwait(false);
        }

        private static bool FingerprintChanged(TailedFile file, long size)
        {
            // Only a fingerprint of bytes already read can change by truncate-and-rewrite.
            return file.Fingerprint.Length > 0 && size >= file.Fingerprint.Length && file.Splitter.Position >= file.Fingerprint.Length
                && !file.Fingerprint.Matches(file.Stream!.SafeFileHandle);
        }

        /// <summary>Reads a plain file from the splitter's position to the end (or a fair share), emitting lines.</summary>
        /// <returns>Whether the file had more than this turn could take.</returns>
        private async Task<bool> ReadAsync(TailedFile file, long timestamp, bool isFinal, CancellationToken cancellationToken)
        {
            var stream = file.Stream!;
            stream.Position = file.Splitter.Position;
            var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: _options.ReadBufferSize, minimumReadSize: 4096, leaveOpen: true));
            bool more;
            bool truncated;
            try
            {
                (more, _, truncated) = await ReadLinesAsync(file, reader, timestamp, isFinal, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }

            if (truncated)
            {
                FileStat.TryStat(stream.SafeFileHandle, file.Path, out var status);
                await TruncatedAsync(file, status, cancellationToken).ConfigureAwait(false);
                return true;
            }

            // Where the stream stopped is the size seen; a partial line beyond the splitter's position is re-read next turn.
            file.LastSize = more ? -1 : stream.Position;
            if (stream.Position > file.KnownSize)
            {
                file.KnownSize = stream.Position;
            }

            return more;
        }

        /// <summary>Reads a compressed generation on from where its decompressor is, to its end (or a fair share).</summary>
        /// <returns>Whether it had more than this turn could take.</returns>
        private async Task<bool> ReadCompressedAsync(TailedFile file, long timestamp, CancellationToken cancellationToken)
        {
            if (file.Stream is null && TryLocate(file) is var located && located != Located.Opened)
            {
                if (located == Located.Gone)
                {
                    GiveUp(file);
                }

                return false;
            }

            try
            {
                if (file.GzipReader is null)
                {
                    var gzip = CompressedLog.Decompress(file.Stream!);
                    file.Gzip = gzip;
                    var skipped = await CompressedLog.SkipAsync(gzip, file.Splitter.Position, cancellationToken).ConfigureAwait(false);
                    if (skipped < file.Splitter.Position)
                    {
                        // Shorter than the offset reached: read through already, or still being written.
                        if (IsCompressedComplete(file, skipped))
                        {
                            Release(file, "compressed, read through already");
                        }
                        else
                        {
                            CloseGzip(file);
                        }

                        return false;
                    }

                    file.GzipReader = PipeReader.Create(gzip, new StreamPipeReaderOptions(bufferSize: _options.ReadBufferSize, minimumReadSize: 4096, leaveOpen: true));
                }

                var (more, cutShort, _) = await ReadLinesAsync(file, file.GzipReader, timestamp, isFinal: true, cancellationToken).ConfigureAwait(false);
                if (more)
                {
                    return true;
                }

                if (cutShort)
                {
                    // Still being compressed: read it again (from the splitter's position) once it is complete.
                    CloseGzip(file);
                    return false;
                }

                Release(file, "compressed generation read");
                return false;
            }
            catch (InvalidDataException ex)
            {
                FileTailLog.DecompressFailed(_context.Logger, ex, file.SeenAt ?? file.Path);
                CloseGzip(file);
                return false;
            }
        }

        /// <summary>Whether a compressed file that decompressed to <paramref name="length"/> bytes is whole (by its trailer, or by having stopped changing).</summary>
        private bool IsCompressedComplete(TailedFile file, long length)
        {
            var handle = file.Stream!.SafeFileHandle;
            if (CompressedLog.TrailerSays(handle, length))
            {
                file.GzipShort = null;
                return true;
            }

            // Several gzip members (only the last one's length is in the trailer), or a file cut short for good.
            var now = FileStat.TryStat(handle, file.Path, out var status) ? (status.Size, status.ModifiedNs) : (-1, -1);
            if (file.GzipShort == now)
            {
                FileTailLog.CompressedShort(_context.Logger, file.SeenAt ?? file.Path);
                return true;
            }

            file.GzipShort = now;
            return false;
        }

        /// <summary>Splits lines from <paramref name="reader"/> into chunks, as far as this turn goes.</summary>
        /// <returns>
        /// Whether there was more than a turn takes; whether a compressed file ended earlier than its trailer says; and
        /// whether a live file turned out truncated before its bytes were used.
        /// </returns>
        private async Task<(bool More, bool CutShort, bool Truncated)> ReadLinesAsync(TailedFile file, PipeReader reader, long timestamp, bool isFinal, CancellationToken cancellationToken)
        {
            var splitter = file.Splitter;
            var more = false;
            var cutShort = false;
            var truncated = false;

            // Each read of a live file is checked against its first bytes before it is split: a truncation racing the
            // read is then met exactly where the reading stands, so no byte of the new content passes as the old.
            var live = !file.Finishing && !file.Compressed;
            var startPosition = splitter.Position;
            long lines = 0;
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    if (live && buffer.Length > 0)
                    {
                        if (file.Fingerprint.Length > 0 && !file.Fingerprint.Matches(file.Stream!.SafeFileHandle))
                        {
                            // Truncated (copytruncate) since these bytes were read, or before: they may be the new
                            // content, so none is used; the old content's rest comes from the copy, from this position.
                            reader.AdvanceTo(buffer.Start);
                            truncated = true;
                            break;
                        }

                        if (file.HeadLength < FileFingerprint.Size && splitter.Position <= file.HeadLength)
                        {
                            ExtendHead(file, buffer, splitter.Position);
                        }
                    }

                    var final = isFinal && result.IsCompleted;
                    if (final && file.Compressed && !IsCompressedComplete(file, splitter.Position + buffer.Length))
                    {
                        final = false;
                        cutShort = true;
                    }

                    while (splitter.TryReadLine(ref buffer, final, out var line))
                    {
                        var chunk = _chunk ??= _context.Chunks.Rent();
                        var entry = chunk.Add();
                        LineText.SetLine(entry, line, _options.InvalidUtf8);
                        entry.Timestamp = timestamp;
                        entry.Labels = file.Labels;
                        entry.Ack = file.Tracker.Track(splitter.Position);
                        file.LastTracked = splitter.Position;
                        if (!file.InChunk)
                        {
                            file.InChunk = true;
                            _inChunk.Add(file);
                        }

                        lines++;
                        if (splitter.LastLineTruncated)
                        {
                            Interlocked.Increment(ref _source._truncatedLines);
                        }

                        if (chunk.IsFull)
                        {
                            // The line was copied into the entry, so the reader's buffer may wait while downstream is full.
                            await FlushChunkAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        break;
                    }

                    if (splitter.Position - startPosition >= MaxBytesPerTurn)
                    {
                        more = true;
                        break;
                    }
                }
            }
            finally
            {
                _context.Metrics.AddReceived(lines);
                file.Lineage.LinesRead += lines;
                file.Lineage.BytesRead += splitter.Position - startPosition;
                var dropped = splitter.DroppedLines - file.ReportedDropped;
                if (dropped > 0)
                {
                    _context.Metrics.AddDropped(dropped, DroppedTooLong);
                    file.ReportedDropped = splitter.DroppedLines;
                }
            }

            return (more, cutShort, truncated);
        }

        /// <summary>Takes the file's first bytes from what was read (not from the file, which may have changed since), and fingerprints them.</summary>
        private void ExtendHead(TailedFile file, in ReadOnlySequence<byte> buffer, long bufferOffset)
        {
            var skip = file.HeadLength - bufferOffset;
            var take = (int)Math.Min(FileFingerprint.Size - file.HeadLength, buffer.Length - skip);
            if (take <= 0)
            {
                return;
            }

            buffer.Slice(skip, take).CopyTo(file.Head.AsSpan(file.HeadLength));
            file.HeadLength += take;
            var fingerprint = FileFingerprint.Of(file.Head.AsSpan(0, file.HeadLength));
            lock (StateLock)
            {
                file.Fingerprint = fingerprint;
            }
        }

        private async Task FlushChunkAsync(CancellationToken cancellationToken)
        {
            var chunk = _chunk;
            if (chunk is null)
            {
                return;
            }

            _chunk = null;
            try
            {
                var emit = _context.EmitAsync(chunk, cancellationToken);
                if (emit.IsCompleted)
                {
                    await emit.ConfigureAwait(false);
                }
                else
                {
                    await WhileEmittingAsync(emit.AsTask(), cancellationToken).ConfigureAwait(false);
                }

                foreach (var file in _inChunk)
                {
                    file.LastEmitted = file.LastTracked;
                    file.InChunk = false;
                    _writer?.WriteWhenCommitted(file);
                }

                _inChunk.Clear();
            }
            catch (OperationCanceledException)
            {
                // Never emitted: these entries are never acknowledged, so their positions are never committed.
                chunk.Release();
                throw;
            }
        }

        /// <summary>
        /// Waits for downstream to take a chunk, scanning on schedule meanwhile: during an outage the generations that
        /// rotate (and get compressed or deleted) are found and held open while nothing can be read.
        /// </summary>
        private async Task WhileEmittingAsync(Task emit, CancellationToken cancellationToken)
        {
            var time = _context.TimeProvider;
            while (!emit.IsCompleted)
            {
                var now = time.GetUtcNow();
                if (now >= NextScan)
                {
                    ScanIfDue(now);
                    continue;
                }

                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(NextScan - now, time, delayCancel.Token);

                // A clock that moved on between reading it and starting the timer would leave the timer late.
                if (time.GetUtcNow() < NextScan)
                {
                    await Task.WhenAny(emit, delay).ConfigureAwait(false);
                }

                await delayCancel.CancelAsync().ConfigureAwait(false);
            }

            await emit.ConfigureAwait(false);
        }

        private bool TryOpen(TailedFile file)
        {
            if (_source._openHandles >= _options.MaxOpenFiles && !EvictOne())
            {
                FileTailLog.OpenFileLimit(_context.Logger, _options.MaxOpenFiles, file.Path);
                return file.Stream is not null;
            }

            var path = file.SeenAt ?? file.Path;
            try
            {
                var stream = file.Compressed ? CompressedLog.Open(path) : FileStat.OpenRead(path, bufferSize: 0);
                if (!FileStat.TryStat(stream.SafeFileHandle, path, out var status) || status.Identity != file.Identity)
                {
                    // The path names another file now: this one can no longer be reopened there.
                    stream.Dispose();
                    return false;
                }

                file.Stream = stream;
                Interlocked.Increment(ref _source._openHandles);
                if (!file.Compressed && !file.Fingerprint.IsComplete)
                {
                    var count = FileFingerprint.ReadHead(stream.SafeFileHandle, file.Head);
                    file.HeadLength = count;
                    var fingerprint = FileFingerprint.Of(file.Head.AsSpan(0, count));
                    lock (StateLock)
                    {
                        file.Fingerprint = fingerprint;
                    }
                }

                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (ex is not FileNotFoundException)
                {
                    FileTailLog.ReadFailed(_context.Logger, ex, path);
                }

                return false;
            }
        }

        private bool EvictOne()
        {
            TailedFile? oldest = null;
            foreach (var file in Order)
            {
                if (file.Stream is not null && !file.Finishing && !file.Reading && (oldest is null || file.LastActivity < oldest.LastActivity))
                {
                    oldest = file;
                }
            }

            if (oldest is null)
            {
                return false;
            }

            Close(oldest);
            return true;
        }

        private void SetFinishing(TailedFile file, bool save = true)
        {
            lock (StateLock)
            {
                file.Finishing = true;
                file.SeenAt = null;
            }

            if (save)
            {
                RequestSave();
            }
        }

        /// <summary>Gives up a generation that is gone before it was read to its end: counted and logged, never silently.</summary>
        private void GiveUp(TailedFile file)
        {
            var unread = file.KnownSize - file.Splitter.Position;
            if (unread > 0)
            {
                ReportLost(file.SeenAt ?? file.Path, file.Identity, file.Splitter.Position, unread, file.Lineage);
            }

            Release(file, unread > 0 ? "deleted before it was read to its end" : "gone");
        }

        private void ReportLost(string path, FileIdentity identity, long offset, long bytes, TargetLineage lineage)
        {
            // The lines were never read, so their count is estimated from the target's average line length.
            var lines = lineage.LinesRead > 0 && lineage.BytesRead > 0 ? Math.Max(1, (long)Math.Ceiling(bytes * (double)lineage.LinesRead / lineage.BytesRead)) : 1;
            _context.Metrics.AddDropped(lines, DeletedBeforeRead);
            s_droppedBytes.Add(bytes, _tags);
            Interlocked.Add(ref _source._lostBytes, bytes);
            Interlocked.Increment(ref _source._lostFiles);
            FileTailLog.DeletedBeforeRead(_context.Logger, path, identity, bytes, offset);
        }

        private void Release(TailedFile file, string reason)
        {
            Close(file);
            lock (StateLock)
            {
                file.Released = true;
                if (Files.TryGetValue(file.Identity, out var tracked) && ReferenceEquals(tracked, file))
                {
                    // Its identity may name a new file soon (inodes are reused), which is then a file of its own.
                    Files.Remove(file.Identity);
                }

                file.Lineage.Remove(file);
                file.Lineage.MarkSeen(file.Identity, file.Fingerprint);
                if (file.Finishing)
                {
                    file.Lineage.SetPredecessor(file.Identity, file.Fingerprint, file.SeenAt, file.Splitter.Position);
                }
                if (!file.IsSettled)
                {
                    // Its last lines may still be in flight: it stays in the positions file until they are acknowledged.
                    _settling.Add(file);
                }
            }

            file.Splitter.Dispose();
            FileTailLog.Released(_context.Logger, file.SeenAt ?? file.Path, file.Identity, file.Splitter.Position, reason);
            RequestSave();
        }

        private void Close(TailedFile file)
        {
            CloseGzip(file);
            if (file.Stream is { } stream)
            {
                stream.Dispose();
                file.Stream = null;
                Interlocked.Decrement(ref _source._openHandles);
            }
        }

        private static void CloseGzip(TailedFile file)
        {
            // The reader's unconsumed bytes are dropped with it; the next reader starts again at the splitter's position.
            file.GzipReader?.Complete();
            file.GzipReader = null;
            file.Gzip?.Dispose();
            file.Gzip = null;
        }
    }
}
