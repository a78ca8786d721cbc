namespace Pipeline.Sources.Files;

/// <summary>
/// Writes a source's positions as acknowledgements arrive: every commit that moves a file's position asks for a
/// write, and requests that arrive while a write is in progress are served by one more write (coalesced), so a
/// kill replays at most what was in flight. These writes are atomic but not flushed to disk (a killed process loses
/// nothing the kernel has); the periodic one (<see cref="Request"/> with <c>prune</c>, every sync period) and the
/// final one are, so a power loss goes back at most a sync period.
/// </summary>
internal sealed class PositionsWriter
{
    private readonly PositionsStore _store;
    private readonly object _owner;
    private readonly Action<List<PositionEntry>> _snapshot;
    private readonly List<PositionEntry> _entries = [];
    private readonly Task _loop;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private volatile bool _prune;

    /// <summary>Starts the writer.</summary>
    /// <param name="store">The positions file.</param>
    /// <param name="owner">The source, as the store knows it.</param>
    /// <param name="snapshot">Fills the list it is given with the source's positions now (called on the writer's thread).</param>
    public PositionsWriter(PositionsStore store, object owner, Action<List<PositionEntry>> snapshot)
    {
        _store = store;
        _owner = owner;
        _snapshot = snapshot;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Asks for a write (cheap; called from acknowledging threads).</summary>
    /// <param name="prune">The periodic write: also drop unclaimed entries of files that are gone (a stat each), and flush to disk.</param>
    public void Request(bool prune = false)
    {
        if (prune)
        {
            _prune = true;
        }

        Volatile.Read(ref _signal).TrySetResult();
    }

    /// <summary>Stops after the write in progress, if any (the caller writes the final positions itself).</summary>
    public Task StopAsync()
    {
        _stopping = true;
        Volatile.Read(ref _signal).TrySetResult();
        return _loop;
    }

    /// <summary>
    /// Asks for a write once the file's last emitted line is committed. One watch per file at a time (not one per
    /// chunk): a watch that fires re-arms itself for the lines emitted meanwhile.
    /// </summary>
    public void WriteWhenCommitted(TailedFile file)
    {
        if (Interlocked.Exchange(ref file.WatchArmed, 1) == 0)
        {
            Arm(file.Watch ??= new CommitWatch(this, file));
        }
    }

    private static void Arm(CommitWatch watch)
    {
        var tracker = watch.File.Tracker;
        var position = watch.File.LastTracked;
        watch.Tracker = tracker;
        watch.Position = position;
        tracker.WaitForCommitAsync(position).ContinueWith(
            static (_, state) => Fired((CommitWatch)state!), watch, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static void Fired(CommitWatch watch)
    {
        watch.Writer.Request();
        var file = watch.File;
        Interlocked.Exchange(ref file.WatchArmed, 0);

        // Lines emitted since the watch was armed (or a new tracker, after a truncation): watch those too.
        if ((!ReferenceEquals(file.Tracker, watch.Tracker) || file.LastTracked > watch.Position) && Interlocked.CompareExchange(ref file.WatchArmed, 1, 0) == 0)
        {
            Arm(watch);
        }
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            await Volatile.Read(ref _signal).Task.ConfigureAwait(false);
            if (_stopping)
            {
                return;
            }

            // A request from now on completes the new signal, so it is served by the next write, not lost.
            Volatile.Write(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var prune = _prune;
            _prune = false;
            _entries.Clear();
            _snapshot(_entries);
            _store.Save(_owner, _entries, pruneUnclaimed: prune, durable: prune);
        }
    }

    /// <summary>What one file's watch needs when it fires (kept with the file, so arming it allocates only the wait).</summary>
    internal sealed class CommitWatch(PositionsWriter writer, TailedFile file)
    {
        public PositionsWriter Writer { get; } = writer;

        public TailedFile File { get; } = file;

        public Runtime.AckTracker? Tracker { get; set; }

        public long Position { get; set; }
    }
}
