namespace Pipeline.Sources.Files;

/// <summary>
/// Writes a source's positions as acknowledgements arrive: every commit that moves a file's position asks for a
/// write, and requests that arrive while a write is in progress are served by one more write (coalesced), so a
/// kill replays at most what was in flight while the write rate never exceeds what the disk's fsync allows.
/// </summary>
internal sealed class PositionsWriter
{
    private readonly PositionsStore _store;
    private readonly object _owner;
    private readonly Func<List<PositionEntry>> _snapshot;
    private readonly Task _loop;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private volatile bool _prune;

    /// <summary>Starts the writer.</summary>
    /// <param name="store">The positions file.</param>
    /// <param name="owner">The source, as the store knows it.</param>
    /// <param name="snapshot">Takes the source's positions now (called on the writer's thread).</param>
    public PositionsWriter(PositionsStore store, object owner, Func<List<PositionEntry>> snapshot)
    {
        _store = store;
        _owner = owner;
        _snapshot = snapshot;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Asks for a write (cheap; called from acknowledging threads).</summary>
    /// <param name="prune">Also drop unclaimed entries of files that are gone (a stat each).</param>
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

    /// <summary>Asks for a write once <paramref name="tracker"/> commits <paramref name="position"/>.</summary>
    public void WriteWhenCommitted(Runtime.AckTracker tracker, long position) =>
        tracker.WaitForCommitAsync(position).ContinueWith(
            static (_, state) => ((PositionsWriter)state!).Request(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

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
            _store.Save(_owner, _snapshot(), prune);
        }
    }
}
