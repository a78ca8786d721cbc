using Microsoft.Extensions.Logging;

namespace Pipeline.Sources.Files;

/// <summary>
/// One positions file shared by every file source of the process that names it, as Promtail keeps one file for
/// all scrape configs. Each source claims the stored entries of the files it finds and saves the positions it
/// owns; a save writes everyone's latest positions plus the stored entries nobody has claimed yet (while their
/// file exists), so one source never overwrites another's progress.
/// </summary>
internal sealed class PositionsStore
{
    private static readonly Lock s_registryLock = new();
    private static readonly Dictionary<string, PositionsStore> s_open = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private readonly PositionsFile _file;
    private readonly Dictionary<string, PositionEntry> _unclaimed;
    private readonly Dictionary<object, IReadOnlyCollection<PositionEntry>> _owned = [];
    private int _references;

    private PositionsStore(PositionsFile file)
    {
        _file = file;
        var loaded = file.Load();
        _unclaimed = loaded.Entries;
        WasCorrupt = loaded.WasCorrupt;
    }

    /// <summary>Whether the file was corrupt (and moved aside) when it was first opened.</summary>
    public bool WasCorrupt { get; }

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

    /// <summary>Takes the stored entry of <paramref name="path"/>, if nobody has claimed it yet.</summary>
    public bool TryClaim(string path, out PositionEntry entry)
    {
        lock (_lock)
        {
            return _unclaimed.Remove(path, out entry);
        }
    }

    /// <summary>Records the positions <paramref name="owner"/> owns now and writes the file.</summary>
    /// <returns>Whether the write succeeded.</returns>
    public bool Save(object owner, IReadOnlyCollection<PositionEntry> owned)
    {
        lock (_lock)
        {
            _owned[owner] = owned;
            var entries = new Dictionary<string, PositionEntry>(StringComparer.Ordinal);
            foreach (var (path, entry) in _unclaimed)
            {
                if (File.Exists(path))
                {
                    entries[path] = entry;
                }
            }

            foreach (var set in _owned.Values)
            {
                foreach (var entry in set)
                {
                    entries[entry.Path] = entry;
                }
            }

            return _file.Save(entries.Values);
        }
    }
}
