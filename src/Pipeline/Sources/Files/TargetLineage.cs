namespace Pipeline.Sources.Files;

/// <summary>
/// One target path and its generations: the files that were (or are) at that path and still have lines to read,
/// oldest first, and the generations already read (or there before the agent started), so that none is read twice
/// and none is missed, whatever it is renamed, copied or compressed to.
/// </summary>
/// <remarks>
/// Only the oldest unreleased generation is read, so a stream's lines leave in the order they were written. A
/// generation is known by its device and inode while only renamed, and by the fingerprint of its first bytes once
/// copied or compressed (a new file).
/// </remarks>
internal sealed class TargetLineage
{
    private readonly List<TailedFile> _chain = [];
    private readonly List<Seen> _seen = [];

    public TargetLineage(string path, string realPath, Model.LabelSet labels)
    {
        Path = path;
        Labels = labels;
        Directory = System.IO.Path.GetDirectoryName(realPath) ?? "/";
        Name = System.IO.Path.GetFileName(realPath);
    }

    /// <summary>The target path.</summary>
    public string Path { get; }

    /// <summary>The labels of its lines (those of its last current file).</summary>
    public Model.LabelSet Labels { get; set; }

    /// <summary>Where its rotated generations are (next to the real file, for a symlinked target).</summary>
    public string Directory { get; }

    /// <summary>The real file's name, which its rotated generations start with.</summary>
    public string Name { get; }

    /// <summary>The generations with lines left to read, oldest first.</summary>
    public IReadOnlyList<TailedFile> Chain => _chain;

    /// <summary>How many bytes and lines were read from it, for an estimate of the lines a lost file held.</summary>
    public long BytesRead { get; set; }

    /// <summary>How many lines were read from it.</summary>
    public long LinesRead { get; set; }

    /// <summary>Whether <paramref name="file"/> may be read now: no older generation is still unread.</summary>
    public bool IsHead(TailedFile file) => _chain.Count == 0 || ReferenceEquals(_chain[0], file);

    /// <summary>Adds the newest generation (a new file at the target path).</summary>
    public void Append(TailedFile file) => _chain.Add(file);

    /// <summary>
    /// Adds a rotated generation found later (missed between scans, or the copy of a truncated file): after the older
    /// ones and before the first newer or already started one, by <paramref name="isOlder"/>.
    /// </summary>
    public void Insert(TailedFile file, Func<TailedFile, bool> isOlder)
    {
        var index = 0;
        while (index < _chain.Count && (_chain[index].HasStarted || isOlder(_chain[index])))
        {
            index++;
        }

        _chain.Insert(index, file);
    }

    /// <summary>Puts <paramref name="file"/> just before <paramref name="newer"/> (the rest of a copy before its truncated original).</summary>
    public void InsertBefore(TailedFile file, TailedFile newer)
    {
        var index = _chain.IndexOf(newer);
        _chain.Insert(index < 0 ? _chain.Count : index, file);
    }

    public void Remove(TailedFile file) => _chain.Remove(file);

    /// <summary>
    /// The newest generation read to its end, or there before the agent started (never read): stored with a current
    /// file too short to be fingerprinted, so that a restart tells the siblings rotated after it (unread) from it and
    /// the ones before it. Changed under the source's state lock (a positions write reads it).
    /// </summary>
    public PositionEntry? Predecessor { get; private set; }

    /// <summary>Records <paramref name="identity"/> as the newest generation read through (see <see cref="Predecessor"/>).</summary>
    public void SetPredecessor(FileIdentity identity, FileFingerprint fingerprint, string? seenAt, long length) =>
        Predecessor = new PositionEntry(Path, Math.Max(0, length), identity, fingerprint, length, Rotated: true, seenAt, ReadThrough: true);

    /// <summary>Remembers a generation as read (or not to be read), by identity and fingerprint.</summary>
    /// <param name="identity">Its device and inode.</param>
    /// <param name="fingerprint">Its first bytes.</param>
    /// <param name="sibling">The sibling it was found as, when it was (its size and modification time confirm it on later scans).</param>
    public void MarkSeen(FileIdentity identity, FileFingerprint fingerprint, RotatedFile? sibling = null)
    {
        var seen = Find(identity);
        if (seen is null)
        {
            _seen.Add(seen = new Seen(identity, fingerprint));
        }
        else if (seen.Fingerprint != fingerprint && fingerprint.Length > 0)
        {
            // The same inode with other first bytes: a freed inode reused by a newer generation.
            seen.Fingerprint = fingerprint;
            seen.Stat = null;
        }

        if (sibling is not null && sibling.Identity == identity)
        {
            seen.Stat = (sibling.Size, sibling.ModifiedNs);
        }
    }

    public bool IsSeen(FileIdentity identity) => Find(identity) is not null;

    /// <summary>
    /// Whether <paramref name="sibling"/> is a generation already seen: its inode is, and it is the same file (its
    /// size and modification time unchanged since it was last confirmed). <see langword="null"/> when its inode was
    /// seen but it changed since: <see cref="ConfirmSeen"/> decides by its first bytes.
    /// </summary>
    public bool? IsSeen(RotatedFile sibling)
    {
        var seen = Find(sibling.Identity);
        return seen is null ? false : seen.Stat == (sibling.Size, sibling.ModifiedNs) ? true : null;
    }

    /// <summary>
    /// Decides whether a sibling whose inode was seen is still that generation, by its first bytes
    /// <paramref name="head"/>. An inode freed by a deleted generation is soon reused (ext4 does) by the next copy or
    /// compressed file, which is new: it is then forgotten as seen, and <see langword="false"/> returned.
    /// </summary>
    public bool ConfirmSeen(RotatedFile sibling, ReadOnlySpan<byte> head)
    {
        if (Find(sibling.Identity) is not { } seen)
        {
            return false;
        }

        if (!seen.Fingerprint.MatchesHead(head))
        {
            _seen.Remove(seen);
            return false;
        }

        seen.Stat = (sibling.Size, sibling.ModifiedNs);
        return true;
    }

    private Seen? Find(FileIdentity identity)
    {
        foreach (var seen in _seen)
        {
            if (seen.Identity == identity)
            {
                return seen;
            }
        }

        return null;
    }

    /// <summary>Whether a file starting with <paramref name="head"/> is a copy or compressed form of a generation already read.</summary>
    public bool IsSeenContent(ReadOnlySpan<byte> head)
    {
        foreach (var seen in _seen)
        {
            if (seen.Fingerprint.MatchesHead(head))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Forgets generations missing from <paramref name="present"/> two scans in a row. Not after one: a directory
    /// listing taken just before the compressed form was created can meet the plain file already deleted.
    /// </summary>
    public void Prune(HashSet<FileIdentity> present)
    {
        for (var i = _seen.Count - 1; i >= 0; i--)
        {
            var seen = _seen[i];
            seen.Missing = present.Contains(seen.Identity) ? 0 : seen.Missing + 1;
            if (seen.Missing >= 2)
            {
                _seen.RemoveAt(i);
            }
        }
    }

    /// <summary>Whether nothing is left of it: no generation to read and nothing remembered.</summary>
    public bool IsEmpty => _chain.Count == 0 && _seen.Count == 0;

    private sealed class Seen(FileIdentity identity, FileFingerprint fingerprint)
    {
        public FileIdentity Identity { get; } = identity;

        public FileFingerprint Fingerprint { get; set; } = fingerprint;

        /// <summary>Size and modification time when it was last confirmed to be this generation.</summary>
        public (long Size, long ModifiedNs)? Stat { get; set; }

        public int Missing { get; set; }
    }
}
