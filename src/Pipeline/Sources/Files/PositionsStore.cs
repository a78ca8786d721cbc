using Microsoft.Extensions.Logging;

namespace Pipeline.Sources.Files;

/// <summary>
/// One positions file shared by every file source of the process that names it, as Promtail keeps one file for
/// all scrape configs. Each source claims the stored entries of the targets it matches and saves the positions it
/// owns; a save writes everyone's latest positions plus the stored entries nobody has claimed yet (while their
/// file exists), so one source never overwrites another's progress.
/// </summary>
/// <remarks>
/// Saves come from each source's positions writer as acknowledgements arrive, so they are serialized here; the
/// write itself (temporary file, fsync, rename) happens under the lock, which coalesces concurrent savers.
/// </remarks>
internal sealed class PositionsStore
{
    private static readonly Lock s_registryLock = new();
    private static readonly Dictionary<string, PositionsStore> s_open = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private readonly PositionsFile _file;
    private readonly Dictionary<string, List<PositionEntry>> _unclaimed = new(StringComparer.Ordinal);
    private readonly Dictionary<object, List<PositionEntry>> _owned = [];
    private readonly Dictionary<string, PositionEntry> _merged = new(StringComparer.Ordinal);
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _references;

    private PositionsStore(PositionsFile file)
    {
        _file = file;
        var loaded = file.Load();
        foreach (var entry in loaded.Entries.Values)
        {
            if (!_unclaimed.TryGetValue(entry.Path, out var list))
            {
                _unclaimed[entry.Path] = list = [];
            }

            list.Add(entry);
        }

        WasCorrupt = loaded.WasCorrupt;
    }

    /// <summary>Whether the file was corrupt (and moved aside) when it was first opened.</summary>
    public bool WasCorrupt { get; }

    /// <summary>How many writes this store made (for tests and benchmarks).</summary>
    public long Writes { get; private set; }

    /// <summary>Completes after the next write (for tests: positions are written from acknowledging threads).</summary>
    public Task NextWrite => Volatile.Read(ref _written).Task;

    /// <summary>Opens the store for <paramref name="path"/>, loading it on first use in this process.</summary>
    public static PositionsStore Acquire(string path, TimeProvider timeProvider, ILogger logger)
    {
        var file = new PositionsFile(path, timeProvider, logger);
        lock (s_registryLock)
        {
            if (!s_open.TryGetValue(file.Path, out var store))
            {
                store = new PositionsStore(file);
                s_open[file.Path] = store;
            }

            store._references++;
            return store;
        }
    }

    /// <summary>Gives up one <see cref="Acquire"/>; the last one closes the store (a later acquire reloads the file).</summary>
    public void Release()
    {
        lock (s_registryLock)
        {
            if (--_references == 0)
            {
                s_open.Remove(_file.Path);
            }
        }
    }

    /// <summary>Takes the stored entries of the target <paramref name="path"/> (its current file and rotated generations), if nobody has claimed them yet.</summary>
    public bool TryClaim(string path, out List<PositionEntry> entries)
    {
        lock (_lock)
        {
            return _unclaimed.Remove(path, out entries!);
        }
    }

    /// <summary>Takes the stored entries of every target <paramref name="isOurs"/> accepts, whether or not its file exists now.</summary>
    public List<(string Target, List<PositionEntry> Entries)> ClaimMatching(Func<string, bool> isOurs)
    {
        var claimed = new List<(string, List<PositionEntry>)>();
        lock (_lock)
        {
            foreach (var (target, entries) in _unclaimed)
            {
                if (isOurs(target))
                {
                    claimed.Add((target, entries));
                }
            }

            foreach (var (target, _) in claimed)
            {
                _unclaimed.Remove(target);
            }
        }

        return claimed;
    }

    /// <summary>Records the positions <paramref name="owner"/> owns now and writes the file.</summary>
    /// <param name="owner">The saving source.</param>
    /// <param name="owned">Its positions.</param>
    /// <param name="pruneUnclaimed">Also forget unclaimed entries whose files are gone (a stat each, so not on every save).</param>
    /// <param name="durable">Flush the file to disk (see <see cref="PositionsFile.Save"/>).</param>
    /// <returns>Whether the write succeeded.</returns>
    public bool Save(object owner, IReadOnlyCollection<PositionEntry> owned, bool pruneUnclaimed = true, bool durable = true)
    {
        lock (_lock)
        {
            // Copied: the caller reuses its list for the next write.
            if (!_owned.TryGetValue(owner, out var kept))
            {
                _owned[owner] = kept = [];
            }

            kept.Clear();
            kept.AddRange(owned);
            var entries = _merged;
            entries.Clear();
            List<string>? gone = null;
            foreach (var (target, list) in _unclaimed)
            {
                if (pruneUnclaimed)
                {
                    list.RemoveAll(e => !Exists(e));
                    if (list.Count == 0)
                    {
                        (gone ??= []).Add(target);
                    }
                }

                foreach (var entry in list)
                {
                    entries[entry.Key] = entry;
                }
            }

            if (gone is not null)
            {
                foreach (var target in gone)
                {
                    _unclaimed.Remove(target);
                }
            }

            foreach (var set in _owned.Values)
            {
                foreach (var entry in set)
                {
                    entries[entry.Key] = entry;
                }
            }

            Writes++;
            var saved = _file.Save(entries.Values, durable);
            Interlocked.Exchange(ref _written, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return saved;
        }
    }

    private static bool Exists(PositionEntry entry) =>
        File.Exists(entry.Path) || (entry.SeenAt is { } seen && (File.Exists(seen) || File.Exists(seen + ".gz")));
}
