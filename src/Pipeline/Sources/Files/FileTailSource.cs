using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
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
/// when nothing was new. Emission waits when downstream is full, so a slow sink stops reading: the files are the
/// buffer.</para>
/// <para>Rotation: a file whose path now names another file (rename + create, kubelet's <c>0.log</c> rotation) or
/// that was deleted is read to its end through the handle still open, its last unterminated line is emitted, then
/// the handle is released and the new file (a new identity) starts at 0. copytruncate: a file smaller than the
/// position, or whose first bytes changed, is read again from 0. The unavoidable window: lines written after the last
/// read and before the truncation exist only in the copy, which is a rotated name and not a target, so they are not
/// read; with a poll interval of 250 ms that window is the poll interval.</para>
/// </remarks>
public sealed class FileTailSource : ILogSource, IDrainAware
{
    private const string DroppedTooLong = "line_too_long";
    private const int MaxBytesPerTurn = 4 * 1024 * 1024;

    private readonly FileTailOptions _options;
    private readonly LabelSet _staticLabels;
    private readonly Dictionary<FileIdentity, TailedFile> _files = [];
    private readonly List<TailedFile> _order = [];
    private readonly Lock _signalLock = new();
    private readonly List<(long Round, TaskCompletionSource Signal)> _roundWaiters = [];
    private TaskCompletionSource _poke = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _roundsStarted;
    private IReadOnlyList<TailTarget> _targets = [];
    private Run? _finishedRun;
    private volatile bool _scanRequested;
    private int _openHandles;
    private long _truncatedLines;

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
        var run = new Run(this, context, positions);
        var watchers = _options.UseFileSystemWatcher ? StartWatchers(run.Discovery, context.Logger) : [];
        var nextScan = DateTimeOffset.MinValue;
        var nextSync = time.GetUtcNow() + _options.SyncPeriod;
        var nextSnapshot = DateTimeOffset.MinValue;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var round = Interlocked.Increment(ref _roundsStarted);
                var now = time.GetUtcNow();
                if (_scanRequested || now >= nextScan)
                {
                    _scanRequested = false;
                    run.Scan(now);
                    nextScan = now + _options.ScanInterval;
                }

                var progressed = await run.ReadAllAsync(cancellationToken).ConfigureAwait(false);
                now = time.GetUtcNow();
                if (now >= nextSync)
                {
                    run.SavePositions();
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
                    await WaitForPollAsync(time, cancellationToken).ConfigureAwait(false);
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
    /// <returns>A completed task.</returns>
    public Task OnDrainedAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _finishedRun, null)?.Finish();
        return Task.CompletedTask;
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

    private async Task WaitForPollAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        var poke = _poke;
        if (!poke.Task.IsCompleted)
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(_options.PollInterval, time, delayCancel.Token);
            await Task.WhenAny(delay, poke.Task).ConfigureAwait(false);
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
    private sealed class Run
    {
        private readonly FileTailSource _source;
        private readonly SourceContext _context;
        private readonly FileTailOptions _options;
        private readonly PositionsStore? _positions;
        private readonly bool _positionsWereCorrupt;
        private bool _firstScan = true;
        private readonly List<TailedFile> _inChunk = [];
        private EntryChunk? _chunk;

        public Run(FileTailSource source, SourceContext context, PositionsStore? positions)
        {
            _source = source;
            _context = context;
            _options = source._options;
            _positions = positions;
            _positionsWereCorrupt = positions?.WasCorrupt ?? false;
            Discovery = new FileDiscovery(_options.Include, _options.Exclude, _options.IncludeRotated, source._staticLabels, context.Logger);
        }

        public FileDiscovery Discovery { get; }

        private Dictionary<FileIdentity, TailedFile> Files => _source._files;

        private List<TailedFile> Order => _source._order;

        public void Scan(DateTimeOffset now)
        {
            var found = Discovery.Scan();
            var seen = new HashSet<FileIdentity>();
            foreach (var file in found)
            {
                seen.Add(file.Identity);
            }

            // Files whose identity is gone from every matched path were renamed away or deleted: finish them first,
            // so the old file's last lines go out before the new file's at the same path.
            foreach (var file in Order)
            {
                if (!file.Finishing && !seen.Contains(file.Identity))
                {
                    file.Finishing = true;
                }
            }

            foreach (var discovered in found)
            {
                if (Files.TryGetValue(discovered.Identity, out var existing))
                {
                    existing.Path = discovered.Path;
                    existing.Labels = discovered.Labels;
                    continue;
                }

                Add(discovered, now);
            }

            _firstScan = false;
        }

        private void Add(DiscoveredFile discovered, DateTimeOffset now)
        {
            var file = new TailedFile(discovered, new LineSplitter(_options.MaxLineBytes, _options.OversizedLines), now);
            if (!TryOpen(file))
            {
                file.Splitter.Dispose();
                return;
            }

            var start = StartPosition(file, discovered);
            file.Restart(start, _context.CreateAckTracker(start));
            Files[file.Identity] = file;
            Order.Add(file);
            FileTailLog.Tailing(_context.Logger, file.Path, file.Identity, start);
        }

        private long StartPosition(TailedFile file, DiscoveredFile discovered)
        {
            var size = discovered.Size;
            if (_positions is not null && _positions.TryClaim(discovered.Path, out var stored))
            {
                if (!stored.Identity.IsKnown)
                {
                    // A Promtail positions file: trust the offset unless the file is now shorter.
                    return stored.Offset <= size ? stored.Offset : 0;
                }

                if (stored.Identity == file.Identity)
                {
                    if (file.Stream is not null && stored.Fingerprint.Length > 0 && !stored.Fingerprint.Matches(file.Stream.SafeFileHandle))
                    {
                        FileTailLog.InodeReused(_context.Logger, file.Path);
                        return 0;
                    }

                    return stored.Offset <= size ? stored.Offset : 0;
                }

                // The path now holds another file (rotated while we were down): it is new data.
                return 0;
            }

            if (_firstScan && _positionsWereCorrupt)
            {
                return _options.CorruptPositionsStart == FileStartPolicy.End ? size : 0;
            }

            return _firstScan && _options.TailFromEnd ? size : 0;
        }

        private bool TryOpen(TailedFile file)
        {
            if (_source._openHandles >= _options.MaxOpenFiles && !EvictOne())
            {
                FileTailLog.OpenFileLimit(_context.Logger, _options.MaxOpenFiles, file.Path);
                return file.Stream is not null;
            }

            try
            {
                var stream = new FileStream(file.Path, new FileStreamOptions
                {
                    Mode = FileMode.Open,
                    Access = FileAccess.Read,
                    Share = FileShare.ReadWrite | FileShare.Delete,
                    BufferSize = 0,
                    Options = FileOptions.SequentialScan,
                });
                if (!FileStat.TryStat(stream.SafeFileHandle, file.Path, out var status) || status.Identity != file.Identity)
                {
                    // The path names another file now: this one can no longer be reopened.
                    stream.Dispose();
                    return false;
                }

                file.Stream = stream;
                Interlocked.Increment(ref _source._openHandles);
                if (!file.Fingerprint.IsComplete)
                {
                    file.Fingerprint = FileFingerprint.Read(stream.SafeFileHandle);
                }

                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                FileTailLog.ReadFailed(_context.Logger, ex, file.Path);
                return false;
            }
        }

        private bool EvictOne()
        {
            TailedFile? oldest = null;
            foreach (var file in Order)
            {
                if (file.Stream is not null && !file.Finishing && (oldest is null || file.LastActivity < oldest.LastActivity))
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
                    if (file.Finishing != (pass == 0))
                    {
                        continue;
                    }

                    progressed |= await ReadFileAsync(file, now, timestamp, cancellationToken).ConfigureAwait(false);
                }
            }

            for (var i = Order.Count - 1; i >= 0; i--)
            {
                if (Order[i].Released)
                {
                    Files.Remove(Order[i].Identity);
                    Order.RemoveAt(i);
                }
            }

            await FlushChunkAsync(cancellationToken).ConfigureAwait(false);
            return progressed;
        }

        private async Task<bool> ReadFileAsync(TailedFile file, DateTimeOffset now, long timestamp, CancellationToken cancellationToken)
        {
            if (file.Stream is null)
            {
                // An idle (closed) file: reopen it by path only if that path still names it and it grew.
                if (file.Finishing || !FileStat.TryStat(file.Path, out var byPath) || byPath.Identity != file.Identity)
                {
                    Release(file, "gone while its handle was closed");
                    return false;
                }

                if ((byPath.Size == file.LastSize && byPath.ModifiedNs == file.LastModified) || !TryOpen(file))
                {
                    return false;
                }
            }

            var stream = file.Stream!;
            if (!FileStat.TryStat(stream.SafeFileHandle, file.Path, out var status))
            {
                Release(file, "stat failed");
                return false;
            }

            if (status.Links == 0)
            {
                file.Finishing = true;
            }

            // Size alone misses a copytruncate that regrew to the same size, so a changed mtime counts as a change too.
            var changed = status.Size != file.LastSize || status.ModifiedNs != file.LastModified;
            file.LastModified = status.ModifiedNs;
            if (status.Size < file.Splitter.Position || (changed && FingerprintChanged(file, status.Size)))
            {
                FileTailLog.Truncated(_context.Logger, file.Path, status.Size, file.Splitter.Position);
                file.Fingerprint = FileFingerprint.Read(stream.SafeFileHandle);
                file.Restart(0, _context.CreateAckTracker(0));
                file.LastSize = -1;
                changed = true;
            }

            if (!changed)
            {
                if (file.Finishing)
                {
                    await ReadAsync(file, timestamp, isFinal: true, cancellationToken).ConfigureAwait(false);
                    Release(file, status.Links == 0 ? "deleted" : "rotated");
                }

                return false;
            }

            file.LastActivity = now;
            if (!file.Fingerprint.IsComplete && status.Size > file.Fingerprint.Length)
            {
                file.Fingerprint = FileFingerprint.Read(stream.SafeFileHandle);
            }

            return await ReadAsync(file, timestamp, file.Finishing, cancellationToken).ConfigureAwait(false);
        }

        private static bool FingerprintChanged(TailedFile file, long size)
        {
            // Only a fingerprint of bytes already read can change by truncate-and-rewrite.
            return file.Fingerprint.Length > 0 && size >= file.Fingerprint.Length && file.Splitter.Position >= file.Fingerprint.Length
                && !file.Fingerprint.Matches(file.Stream!.SafeFileHandle);
        }

        /// <summary>Reads from the committed-to-splitter position to the end (or a fair share), emitting lines.</summary>
        /// <returns>Whether the file had more than this turn could take.</returns>
        private async Task<bool> ReadAsync(TailedFile file, long timestamp, bool isFinal, CancellationToken cancellationToken)
        {
            var stream = file.Stream!;
            var splitter = file.Splitter;
            stream.Position = splitter.Position;
            var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: _options.ReadBufferSize, minimumReadSize: 4096, leaveOpen: true));
            var more = false;
            var startPosition = splitter.Position;
            long lines = 0;
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    var final = isFinal && result.IsCompleted;
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
                await reader.CompleteAsync().ConfigureAwait(false);
                _context.Metrics.AddReceived(lines);
                var dropped = splitter.DroppedLines - file.ReportedDropped;
                if (dropped > 0)
                {
                    _context.Metrics.AddDropped(dropped, DroppedTooLong);
                    file.ReportedDropped = splitter.DroppedLines;
                }
            }

            // Where the stream stopped is the size seen; a partial line beyond the splitter's position is re-read next turn.
            file.LastSize = more ? -1 : stream.Position;
            return more;
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
                await _context.EmitAsync(chunk, cancellationToken).ConfigureAwait(false);
                foreach (var file in _inChunk)
                {
                    file.LastEmitted = file.LastTracked;
                    file.InChunk = false;
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

        public void CloseIdle(DateTimeOffset now)
        {
            foreach (var file in Order)
            {
                if (file.Stream is not null && !file.Finishing && now - file.LastActivity >= _options.IdleTimeout)
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

        /// <summary>Writes the final positions and gives up the shared positions file.</summary>
        public void Finish()
        {
            SavePositions();
            _positions?.Release();
        }

        public void ReleasePendingChunk()
        {
            _chunk?.Release();
            _chunk = null;
        }

        public void SavePositions()
        {
            if (_positions is null)
            {
                return;
            }

            var owned = new List<PositionEntry>(Order.Count);
            foreach (var file in Order)
            {
                if (!file.Finishing)
                {
                    owned.Add(new PositionEntry(file.Path, file.Tracker.CommittedPosition, file.Identity, file.Fingerprint));
                }
            }

            _positions.Save(this, owned);
        }

        private void Release(TailedFile file, string reason)
        {
            Close(file);
            file.Released = true;
            file.Splitter.Dispose();
            FileTailLog.Released(_context.Logger, file.Path, file.Identity, file.Splitter.Position, reason);
        }

        private void Close(TailedFile file)
        {
            if (file.Stream is { } stream)
            {
                stream.Dispose();
                file.Stream = null;
                Interlocked.Decrement(ref _source._openHandles);
            }
        }
    }

    /// <summary>One tailed file: its identity, handle, splitter (read position) and acknowledgement tracker.</summary>
    private sealed class TailedFile
    {
        public TailedFile(DiscoveredFile discovered, LineSplitter splitter, DateTimeOffset now)
        {
            Path = discovered.Path;
            Identity = discovered.Identity;
            Labels = discovered.Labels;
            Splitter = splitter;
            LastActivity = now;
            Tracker = null!;
        }

        public string Path { get; set; }

        public FileIdentity Identity { get; }

        public LabelSet Labels { get; set; }

        public LineSplitter Splitter { get; }

        public AckTracker Tracker { get; private set; }

        public FileStream? Stream { get; set; }

        public FileFingerprint Fingerprint { get; set; }

        public long LastSize { get; set; } = -1;

        public long LastModified { get; set; } = -1;

        public DateTimeOffset LastActivity { get; set; }

        public bool Finishing { get; set; }

        public bool Released { get; set; }

        public long ReportedDropped { get; set; }

        /// <summary>The position of the last line given a token.</summary>
        public long LastTracked { get; set; }

        /// <summary>The position of the last line handed downstream (what shutdown waits to see acknowledged).</summary>
        public long LastEmitted { get; set; }

        public bool InChunk { get; set; }

        public void Restart(long position, AckTracker tracker)
        {
            Splitter.Reset(position);
            Tracker = tracker;
            LastTracked = position;
            LastEmitted = position;
            ReportedDropped = Splitter.DroppedLines;
        }
    }
}
