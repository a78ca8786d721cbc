using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Wal;

/// <summary>
/// The write-ahead log: numbered segment files of framed, CRC-32C-checked records. Appenders queue records; one writer
/// task writes every queued record as a group and forces the group to disk with one fsync (group commit), then completes
/// the appends. Segments rotate by size and are deleted once a checkpoint says their entries are in flushed chunks.
/// </summary>
internal sealed partial class WriteAheadLog : IAsyncDisposable
{
    private const string Extension = ".wal";

    private readonly WalOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _fileLock = new();
    private readonly List<Segment> _closed = [];
    private readonly List<ReadOnlyMemory<byte>> _segments = [];
    private readonly CancellationTokenSource _stopping = new();
    private Segment _current = null!;
    private SafeFileHandle _handle = null!;
    private long _offset;
    private bool _dirty;
    private long _nextSequence;
    private long _fsyncCount;
    private Task _writer = Task.CompletedTask;
    private Task _syncer = Task.CompletedTask;
    private int _disposed;
    private int _queued;

    private WriteAheadLog(WalOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Number of fsyncs done (group commit makes this smaller than the number of appends).</summary>
    public long FsyncCount => Interlocked.Read(ref _fsyncCount);

    /// <summary>Records queued and not yet taken by the writer.</summary>
    public int QueuedCount => Volatile.Read(ref _queued);

    /// <summary>The next sequence number to be handed out.</summary>
    public long NextSequence => Interlocked.Read(ref _nextSequence);

    /// <summary>Number of segment files (closed and current).</summary>
    public int SegmentCount
    {
        get
        {
            lock (_fileLock)
            {
                return _closed.Count + 1;
            }
        }
    }

    /// <summary>
    /// Opens the WAL in <see cref="WalOptions.Directory"/>: replays every good record in order through
    /// <paramref name="apply"/>, cuts damaged segments at their last good record, then starts a new segment.
    /// </summary>
    public static WriteAheadLog Open(
        WalOptions options,
        TimeProvider time,
        ILogger logger,
        long firstSequence,
        Action<WalRecord> apply,
        out WalReplayResult replay)
    {
        Directory.CreateDirectory(options.Directory);
        var wal = new WriteAheadLog(options, time, logger);
        replay = wal.Replay(apply, out var maxSequence, out var lastIndex);
        wal._nextSequence = Math.Max(firstSequence, maxSequence + 1);
        wal.StartSegment(lastIndex + 1);
        wal._writer = Task.Run(wal.WriterLoopAsync);
        if (options.FsyncPolicy == WalFsyncPolicy.Interval)
        {
            wal._syncer = Task.Run(wal.SyncLoopAsync);
        }

        return wal;
    }

    /// <summary>Reserves the sequence number of the next record (call under the tenant's lock, before applying it).</summary>
    public long ReserveSequence() => Interlocked.Increment(ref _nextSequence) - 1;

    /// <summary>
    /// Queues a record already encoded and framed (<see cref="WalRecordCodec"/>, <see cref="RecordFraming"/>) in
    /// <paramref name="record"/>, which the caller keeps unchanged until the task completes. Once it is written (and
    /// fsynced, per policy) the writer runs <paramref name="durable"/> (records in queue order) and completes the task.
    /// When the write fails, <paramref name="durable"/> does not run and the task faults. An empty record is a barrier: it
    /// only waits for the group.
    /// </summary>
    public Task Enqueue(long sequence, ByteBuffer record, Action? durable = null) => Enqueue(new Pending(sequence, record, durable));

    /// <summary>Encodes and queues a record of <paramref name="streams"/> (see the other overload).</summary>
    public async Task Enqueue(long sequence, string tenant, IReadOnlyList<IngestStream> streams, Action? durable = null)
    {
        using var record = new ByteBuffer();
        if (streams.Count > 0)
        {
            var frame = RecordFraming.BeginFrame(record);
            WalRecordCodec.Encode(record, sequence, tenant, streams);
            RecordFraming.EndFrame(record, frame);
        }

        await Enqueue(new Pending(sequence, record, durable)).ConfigureAwait(false);
    }

    private Task Enqueue(Pending pending)
    {
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            throw new ObjectDisposedException(nameof(WriteAheadLog), "the WAL is closed");
        }

        return pending.Done.Task;
    }

    /// <summary>Deletes closed segments whose records all have a sequence below <paramref name="sequence"/> (their entries are flushed).</summary>
    /// <returns>How many segments were deleted.</returns>
    public int DeleteSegmentsBefore(long sequence)
    {
        var deleted = 0;
        lock (_fileLock)
        {
            for (var i = 0; i < _closed.Count; i++)
            {
                var segment = _closed[i];
                if (segment.MaxSequence < sequence)
                {
                    File.Delete(segment.Path);
                    _closed.RemoveAt(i--);
                    deleted++;
                }
            }
        }

        if (deleted > 0)
        {
            LogSegmentsDeleted(_logger, deleted, sequence);
        }

        return deleted;
    }

    /// <summary>Closes the current segment and starts a new one, so that it can be checkpointed.</summary>
    public void Rotate()
    {
        lock (_fileLock)
        {
            RotateLocked();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _syncer.ConfigureAwait(false);
        lock (_fileLock)
        {
            if (_dirty)
            {
                Fsync();
            }

            _handle.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>Drops the WAL without writing what is queued or fsyncing: what an unclean stop leaves behind (for tests).</summary>
    internal void Abandon()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _queue.Writer.TryComplete();
        _stopping.Cancel();
        lock (_fileLock)
        {
            _handle.Dispose();
        }
    }

    private static string SegmentPath(string directory, int index) =>
        Path.Combine(directory, index.ToString("D10", CultureInfo.InvariantCulture) + Extension);

    private WalReplayResult Replay(Action<WalRecord> apply, out long maxSequence, out int lastIndex)
    {
        var indexes = new List<int>();
        foreach (var path in Directory.EnumerateFiles(_options.Directory, "*" + Extension))
        {
            if (int.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                indexes.Add(index);
            }
        }

        indexes.Sort();
        var corruptions = new List<WalCorruption>();
        using var upgraded = new ByteBuffer(4096);
        long records = 0, entries = 0;
        maxSequence = -1;
        lastIndex = 0;
        foreach (var index in indexes)
        {
            var path = SegmentPath(_options.Directory, index);
            lastIndex = index;
            long segmentMax = -1;
            long cutAt = -1;
            string? reason = null;
            using (var reader = new FramedRecordReader(path, 0, _options.MaxRecordSize))
            {
                while (true)
                {
                    var status = reader.Next(out var error);
                    if (status == FrameStatus.End)
                    {
                        break;
                    }

                    if (status != FrameStatus.Record)
                    {
                        cutAt = reader.GoodOffset;
                        reason = error;
                        break;
                    }

                    WalRecord record;
                    try
                    {
                        var (sequence, tenant, version) = WalRecordCodec.ReadHeader(reader.Payload);
                        var payload = reader.PayloadMemory;
                        if (version != WalRecordCodec.Version)
                        {
                            upgraded.Clear();
                            WalRecordCodec.Upgrade(reader.Payload, upgraded);
                            payload = upgraded.WrittenMemory;
                        }

                        WalRecordCodec.Validate(payload.Span);
                        record = new WalRecord(sequence, tenant, payload);
                    }
                    catch (InvalidDataException ex)
                    {
                        cutAt = reader.GoodOffset - RecordFraming.HeaderSize - reader.Payload.Length;
                        reason = $"undecodable record at offset {cutAt}: {ex.Message}";
                        break;
                    }

                    records++;
                    var streams = new WalRecordReader(record.Payload.Span);
                    while (streams.NextStream(out _, out var count, out _, out _))
                    {
                        entries += count;
                    }

                    segmentMax = Math.Max(segmentMax, record.Sequence);
                    apply(record);
                }

                if (cutAt >= 0)
                {
                    var cut = reader.FileLength - cutAt;
                    corruptions.Add(new WalCorruption(path, cutAt, reason!, cut));
                }
            }

            if (cutAt >= 0)
            {
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    stream.SetLength(cutAt);
                    stream.Flush(flushToDisk: true);
                }

                LogSegmentCut(_logger, path, cutAt, reason!);
            }

            maxSequence = Math.Max(maxSequence, segmentMax);
            _closed.Add(new Segment(index, path) { MaxSequence = segmentMax });
        }

        if (records > 0 || corruptions.Count > 0)
        {
            LogReplayed(_logger, records, indexes.Count, corruptions.Count);
        }

        return new WalReplayResult(indexes.Count, records, entries, corruptions);
    }

    private void StartSegment(int index)
    {
        var path = SegmentPath(_options.Directory, index);
        _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
        _current = new Segment(index, path);
        _offset = 0;
    }

    private void RotateLocked()
    {
        if (_offset == 0)
        {
            return;
        }

        Fsync();
        _handle.Dispose();
        _closed.Add(_current);
        StartSegment(_current.Index + 1);
    }

    private void Fsync()
    {
        RandomAccess.FlushToDisk(_handle);
        _dirty = false;
        Interlocked.Increment(ref _fsyncCount);
    }

    private async Task WriterLoopAsync()
    {
        var group = new List<Pending>();
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (_options.WriterGate is { } gate)
            {
                await gate().ConfigureAwait(false);
            }

            while (reader.TryRead(out var pending))
            {
                Interlocked.Decrement(ref _queued);
                group.Add(pending);
            }

            Exception? failure = null;
            try
            {
                WriteGroup(group);
            }
#pragma warning disable CA1031 // The failure goes to every waiting appender; the writer must keep serving later groups.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = ex;
                LogWriteFailed(_logger, ex);
            }

            foreach (var pending in group)
            {
                if (failure is null)
                {
                    try
                    {
                        pending.Durable?.Invoke();
                        pending.Done.TrySetResult();
                    }
#pragma warning disable CA1031 // The appender gets the failure; the writer keeps serving.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        pending.Done.TrySetException(ex);
                    }
                }
                else
                {
                    pending.Done.TrySetException(new IOException($"WAL write failed: {failure.Message}", failure));
                }
            }

            group.Clear();
        }
    }

    private void WriteGroup(List<Pending> group)
    {
        lock (_fileLock)
        {
            if (_handle.IsClosed)
            {
                throw new ObjectDisposedException(nameof(WriteAheadLog), "the WAL is closed");
            }

            _options.BeforeWrite?.Invoke();
            var maxSequence = _current.MaxSequence;
            long length = 0;
            foreach (var pending in group)
            {
                if (pending.Record.Length == 0)
                {
                    continue; // A barrier (all entries were duplicates or refused): it only waits for the group.
                }

                // Encoded and framed by the appender: written as it is, the whole group with one pwritev.
                _segments.Add(pending.Record.WrittenMemory);
                length += pending.Record.Length;
                maxSequence = Math.Max(maxSequence, pending.Sequence);
            }

            if (length > 0)
            {
                try
                {
                    RandomAccess.Write(_handle, _segments, _offset);
                }
                finally
                {
                    _segments.Clear();
                }

                _offset += length;
                _dirty = true;
            }

            _current.MaxSequence = maxSequence;
            if (_dirty && _options.FsyncPolicy == WalFsyncPolicy.EveryBatch)
            {
                // One fsync for the whole group (group commit): every append of it is durable, or every one fails.
                _options.BeforeFsync?.Invoke();
                Fsync();
            }

            if (_offset >= _options.SegmentSize)
            {
                RotateLocked();
            }
        }
    }

    private async Task SyncLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.FsyncInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                lock (_fileLock)
                {
                    if (_dirty && !_handle.IsClosed)
                    {
                        Fsync();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
#pragma warning disable CA1031 // A background loop never throws into the host; the next tick or dispose retries.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogWriteFailed(_logger, ex);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "WAL segment {Path} cut at offset {Offset}: {Reason}; the records before it are kept")]
    private static partial void LogSegmentCut(ILogger logger, string path, long offset, string reason);

    [LoggerMessage(2, LogLevel.Information, "WAL replayed {Records} record(s) from {Segments} segment(s), {Corruptions} damaged place(s) cut")]
    private static partial void LogReplayed(ILogger logger, long records, int segments, int corruptions);

    [LoggerMessage(3, LogLevel.Error, "WAL write failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Debug, "WAL deleted {Count} segment(s) checkpointed before sequence {Sequence}")]
    private static partial void LogSegmentsDeleted(ILogger logger, int count, long sequence);

    private sealed class Segment(int index, string path)
    {
        public int Index { get; } = index;

        public string Path { get; } = path;

        public long MaxSequence { get; set; } = -1;
    }

    private sealed class Pending(long sequence, ByteBuffer record, Action? durable)
    {
        public Action? Durable { get; } = durable;

        public long Sequence { get; } = sequence;

        public ByteBuffer Record { get; } = record;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
