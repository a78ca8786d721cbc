namespace Pipeline.Sources.Files;

/// <summary>The file source's scan: targets, their rotated generations, resuming them after a restart, and copytruncate.</summary>
public sealed partial class FileTailSource
{
    private enum Located
    {
        /// <summary>Found and opened.</summary>
        Opened,

        /// <summary>No handle is free now; try again on a later round.</summary>
        Later,

        /// <summary>Gone under every name and form.</summary>
        Gone,
    }

    private sealed partial class Run
    {
        /// <summary>The directory listings of the scan in progress (one listing per directory, shared by its targets).</summary>
        private Dictionary<string, string[]>? _listings;

        private void Scan(DateTimeOffset now)
        {
            _listings = new Dictionary<string, string[]>(StringComparer.Ordinal);
            try
            {
                if (ScanTargets(now))
                {
                    RequestSave();
                }
            }
            finally
            {
                _listings = null;
                _firstScan = false;
                Interlocked.Exchange(ref _source._scanned, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }

        /// <returns>Whether what the positions file should hold changed.</returns>
        private bool ScanTargets(DateTimeOffset now)
        {
            var found = Discovery.Scan();
            Dictionary<string, List<PositionEntry>>? stored = null;
            if (_firstScan && _positions is not null)
            {
                // Every stored target this source matches, whether or not its file is still there: only its rotated
                // generations may be left.
                stored = new Dictionary<string, List<PositionEntry>>(StringComparer.Ordinal);
                foreach (var (target, entries) in _positions.ClaimMatching(Discovery.Matches))
                {
                    stored[target] = entries;
                }
            }

            var present = new HashSet<FileIdentity>();
            var paths = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in found)
            {
                present.Add(file.Identity);
                paths.Add(file.Path);
            }

            // Files whose identity is gone from every matched path were renamed away or deleted: finish them first,
            // so the old file's last lines go out before the new file's at the same path.
            var changed = false;
            foreach (var file in Order)
            {
                if (!file.Finishing && !file.Released && !present.Contains(file.Identity))
                {
                    SetFinishing(file, save: false);
                    changed = true;
                }
            }

            var resolved = new HashSet<TargetLineage>();
            foreach (var discovered in found)
            {
                if (Files.TryGetValue(discovered.Identity, out var existing))
                {
                    if (!existing.Finishing && existing.Path != discovered.Path)
                    {
                        lock (StateLock)
                        {
                            existing.Path = discovered.Path;
                            existing.SeenAt = discovered.Path;
                        }

                        changed = true;
                    }

                    existing.Labels = discovered.Labels;
                    continue;
                }

                changed = true;
                if (!Lineages.TryGetValue(discovered.Path, out var lineage))
                {
                    lineage = new TargetLineage(discovered.Path, discovered.RealPath, discovered.Labels);
                    Lineages[discovered.Path] = lineage;
                    resolved.Add(lineage);
                    if (stored is not null && stored.Remove(discovered.Path, out var entries))
                    {
                        Resume(lineage, discovered, entries, now);
                    }
                    else
                    {
                        FirstSight(lineage, discovered, now);
                    }

                    continue;
                }

                // A new file at a known target path (it rotated): new data from its start.
                lineage.Labels = discovered.Labels;
                AddCurrent(discovered, lineage, 0, now);
            }

            if (stored is not null)
            {
                foreach (var (target, entries) in stored)
                {
                    if (!Lineages.TryGetValue(target, out var lineage))
                    {
                        lineage = new TargetLineage(target, target, Discovery.LabelsFor(target));
                        Lineages[target] = lineage;
                    }

                    resolved.Add(lineage);
                    Resume(lineage, null, entries, now);
                    changed = true;
                }
            }

            List<string>? empty = null;
            foreach (var (path, lineage) in Lineages)
            {
                if (!resolved.Contains(lineage))
                {
                    changed |= ResolveSiblings(lineage, now);
                }

                if (lineage.IsEmpty && !paths.Contains(path))
                {
                    (empty ??= []).Add(path);
                }
            }

            if (empty is not null)
            {
                foreach (var path in empty)
                {
                    Lineages.Remove(path);
                }
            }

            return changed;
        }

        /// <summary>A target seen for the first time in this run, with nothing stored for it.</summary>
        private void FirstSight(TargetLineage lineage, DiscoveredFile discovered, DateTimeOffset now)
        {
            foreach (var sibling in Siblings(lineage))
            {
                if (_firstScan)
                {
                    // There before the agent first started: old data, not read (Promtail does not read rotated files either).
                    var fingerprint = HeadFingerprint(sibling);
                    lineage.MarkSeen(sibling.Identity, fingerprint, sibling);
                    lock (StateLock)
                    {
                        lineage.SetPredecessor(sibling.Identity, fingerprint, sibling.Path, sibling.Compressed ? 0 : sibling.Size);
                    }
                }
                else
                {
                    // The target appeared after the start with generations already rotated: they are new data.
                    TrackGeneration(lineage, sibling, 0, HeadFingerprint(sibling), resumed: false, now);
                }
            }

            AddCurrent(discovered, lineage, StartPolicy(discovered), now);
        }

        private long StartPolicy(DiscoveredFile discovered)
        {
            if (_firstScan && _positionsWereCorrupt)
            {
                return _options.CorruptPositionsStart == FileStartPolicy.End ? discovered.Size : 0;
            }

            return _firstScan && _options.TailFromEnd ? discovered.Size : 0;
        }

        /// <summary>
        /// Resumes a target from its stored entries: each stored generation is found by identity (renamed) or by its
        /// first bytes (copied or compressed) and read on from its offset; siblings rotated after the newest stored
        /// generation were never read and are read from their start; older ones were read and are not.
        /// </summary>
        private void Resume(TargetLineage lineage, DiscoveredFile? current, List<PositionEntry> entries, DateTimeOffset now)
        {
            var (siblings, heads) = StableSiblings(lineage, current);
            var count = siblings.Count;
            var matched = new PositionEntry?[count + 1];
            var lost = new List<PositionEntry>();
            var anyIdentity = false;
            foreach (var entry in entries)
            {
                if (!entry.Identity.IsKnown)
                {
                    // Promtail's file knows paths only: the offset goes with whatever file is at the path.
                    if (current is not null && matched[count] is null)
                    {
                        matched[count] = entry;
                    }
                    else
                    {
                        lost.Add(entry);
                    }

                    continue;
                }

                anyIdentity = true;
                var at = -1;
                if (current is not null && matched[count] is null && !entry.ReadThrough && current.Identity == entry.Identity && SameStart(count, entry))
                {
                    at = count;
                }

                for (var i = 0; at < 0 && i < count; i++)
                {
                    if (matched[i] is null && !siblings[i].Compressed && siblings[i].Identity == entry.Identity && SameStart(i, entry))
                    {
                        at = i;
                    }
                }

                // Copied or compressed: another file with the same first bytes; a plain copy is read in preference.
                for (var pass = 0; at < 0 && entry.Fingerprint.Length > 0 && pass < 2; pass++)
                {
                    for (var i = 0; at < 0 && i < count; i++)
                    {
                        if (matched[i] is null && siblings[i].Compressed == (pass == 1) && entry.Fingerprint.MatchesHead(Head(i)))
                        {
                            at = i;
                        }
                    }
                }

                if (at < 0)
                {
                    if (current is not null && current.Identity == entry.Identity)
                    {
                        FileTailLog.InodeReused(_context.Logger, current.Path);
                    }

                    lost.Add(entry);
                    continue;
                }

                matched[at] = entry;
            }

            // The newest stored generation found. A current file stored too short to be fingerprinted proves nothing:
            // the file at its path with its inode may have been truncated and written again (copytruncate keeps the
            // inode) or be a new file on a reused inode, so siblings after the newest stored rotated generation (the
            // one read before it, stored with it for this) rotated after it and are read.
            var newest = -1;
            for (var i = 0; i <= count; i++)
            {
                if (matched[i] is { } found && (i < count || found.Fingerprint.IsComplete || !anyIdentity))
                {
                    newest = i;
                }
            }

            RotatedFile? predecessor = null;
            long predecessorLength = 0;
            FileFingerprint predecessorFingerprint = default;
            for (var i = 0; i < count; i++)
            {
                var sibling = siblings[i];
                var fingerprint = FileFingerprint.Of(Head(i));
                if (matched[i] is { } entry)
                {
                    if (entry.ReadThrough || IsReadThrough(sibling, entry.Offset))
                    {
                        lineage.MarkSeen(sibling.Identity, fingerprint, sibling);
                        (predecessor, predecessorLength, predecessorFingerprint) = (sibling, entry.Offset, fingerprint);
                    }
                    else
                    {
                        TrackGeneration(lineage, sibling, entry.Offset, entry.Fingerprint.Length > 0 ? entry.Fingerprint : fingerprint, resumed: true, now);
                    }
                }
                else if (anyIdentity && i > newest)
                {
                    // Rotated after the newest generation stored: written and rotated while the agent was down.
                    TrackGeneration(lineage, sibling, 0, fingerprint, resumed: false, now);
                }
                else
                {
                    lineage.MarkSeen(sibling.Identity, fingerprint, sibling);
                    (predecessor, predecessorLength, predecessorFingerprint) = (sibling, sibling.Compressed ? 0 : sibling.Size, fingerprint);
                }
            }

            if (predecessor is not null)
            {
                lock (StateLock)
                {
                    lineage.SetPredecessor(predecessor.Identity, predecessorFingerprint, predecessor.Path, predecessorLength);
                }
            }

            if (current is not null)
            {
                var start = matched[count] is { } stored ? (stored.Offset <= current.Size ? stored.Offset : 0) : 0;
                AddCurrent(current, lineage, start, now);
            }

            foreach (var entry in lost)
            {
                if (entry.ReadThrough)
                {
                    continue;
                }

                if (entry.Size > entry.Offset)
                {
                    ReportLost(entry.SeenAt ?? entry.Path, entry.Identity, entry.Offset, entry.Size - entry.Offset, lineage);
                }
                else if (entry.Size < 0 || (entry.Rotated && entry.Size == 0))
                {
                    // A generation not fully acknowledged, of unknown length (compressed): lines after the offset may be lost.
                    FileTailLog.StoredFileGone(_context.Logger, entry.SeenAt ?? entry.Path, entry.Identity, entry.Offset);
                }
            }

            ReadOnlySpan<byte> Head(int index) => heads[index];

            // Renamed only: the same inode, and (when it was fingerprinted) the same first bytes, else the inode was reused.
            bool SameStart(int index, PositionEntry entry) => entry.Fingerprint.Length == 0 || entry.Fingerprint.MatchesHead(Head(index));
        }

        /// <summary>
        /// The siblings of a target and their first bytes (the current file's last), as one consistent picture: listed
        /// again while a rotation renamed files between the listing and the reads (a head read through a name must
        /// be of the file listed under it), as resuming decides once what each file is.
        /// </summary>
        private (List<RotatedFile> Siblings, byte[][] Heads) StableSiblings(TargetLineage lineage, DiscoveredFile? current)
        {
            const int Attempts = 10;
            for (var attempt = 1; ; attempt++)
            {
                var siblings = attempt == 1 ? Siblings(lineage) : RotatedSiblings.Find(RotatedSiblings.List(lineage.Directory), lineage.Directory, lineage.Name);
                var heads = new byte[siblings.Count + 1][];
                var moved = false;
                for (var i = 0; i <= siblings.Count && !moved; i++)
                {
                    var (path, compressed, identity) = i < siblings.Count ? (siblings[i].Path, siblings[i].Compressed, siblings[i].Identity) : (current?.Path, false, current?.Identity ?? default);
                    var bytes = new byte[FileFingerprint.Size];
                    var read = path is null ? 0 : FileFingerprint.ReadHead(path, compressed, identity, bytes);
                    moved = read == FileFingerprint.Moved;
                    heads[i] = read < 0 ? [] : bytes[..read];
                }

                if (!moved || attempt == Attempts)
                {
                    return (siblings, heads);
                }
            }
        }

        private static bool IsReadThrough(RotatedFile sibling, long offset) =>
            sibling.Compressed ? CompressedLog.TrailerSays(sibling.Path, offset) : offset >= sibling.Size;

        /// <summary>
        /// Keeps up with a target's rotated siblings: updates where its tracked generations now are, and reads from
        /// its start any generation never seen at the target path (rotated between two scans, or while emission waited).
        /// </summary>
        /// <returns>Whether what the positions file should hold changed.</returns>
        private bool ResolveSiblings(TargetLineage lineage, DateTimeOffset now)
        {
            var changed = false;
            var present = new HashSet<FileIdentity>();
            foreach (var sibling in Siblings(lineage))
            {
                present.Add(sibling.Identity);
                if (Files.TryGetValue(sibling.Identity, out var tracked))
                {
                    if (tracked.Finishing && tracked.SeenAt != sibling.Path)
                    {
                        lock (StateLock)
                        {
                            tracked.SeenAt = sibling.Path;
                        }

                        changed = true;
                    }

                    if (!tracked.Compressed && sibling.Size > tracked.KnownSize)
                    {
                        tracked.KnownSize = sibling.Size;
                    }

                    continue;
                }

                var seen = lineage.IsSeen(sibling);
                if (seen == true)
                {
                    continue;
                }

                var count = FileFingerprint.ReadHead(sibling.Path, sibling.Compressed, sibling.Identity, _head);
                if (count < 0)
                {
                    // Unreadable now, or renamed since the listing: decided on a later scan.
                    continue;
                }

                var head = _head.AsSpan(0, count);
                if (seen is null && lineage.ConfirmSeen(sibling, head))
                {
                    continue;
                }

                if (count < FileFingerprint.Size && !HasSettled(sibling))
                {
                    // A copy or compression still being written: decided on a later scan.
                    continue;
                }

                if (count == 0 || IsContentOf(lineage, head) || lineage.IsSeenContent(head))
                {
                    // A copy or compressed form of a generation being read or already read (or empty so far: it is
                    // looked at again if it changes).
                    lineage.MarkSeen(sibling.Identity, FileFingerprint.Of(head), sibling);
                    continue;
                }

                TrackGeneration(lineage, sibling, 0, FileFingerprint.Of(head), resumed: false, now);
                changed = true;
            }

            lineage.Prune(present);
            return changed;
        }

        private static bool IsContentOf(TargetLineage lineage, ReadOnlySpan<byte> head)
        {
            foreach (var file in lineage.Chain)
            {
                if (file.Fingerprint.MatchesHead(head))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Whether a short sibling stayed the same since the last scan (so its first bytes are final).</summary>
        private bool HasSettled(RotatedFile sibling)
        {
            var now = (sibling.Size, sibling.ModifiedNs);
            if (_unsettledSiblings.Remove(sibling.Identity, out var before) && before == now)
            {
                return true;
            }

            _unsettledSiblings[sibling.Identity] = now;
            return false;
        }

        private void AddCurrent(DiscoveredFile discovered, TargetLineage lineage, long start, DateTimeOffset now)
        {
            var file = new TailedFile(discovered.Path, discovered.Identity, discovered.Labels, lineage, NewSplitter(), now);
            if (!TryOpen(file))
            {
                file.Splitter.Dispose();
                return;
            }

            file.Restart(start, _context.CreateAckTracker(start));
            lock (StateLock)
            {
                Files[file.Identity] = file;
                Order.Add(file);
                lineage.Append(file);
            }

            FileTailLog.Tailing(_context.Logger, file.Path, file.Identity, start);
        }

        /// <summary>Tracks a rotated generation, to read from <paramref name="start"/> to its end (after the older ones of its target).</summary>
        private void TrackGeneration(TargetLineage lineage, RotatedFile sibling, long start, FileFingerprint fingerprint, bool resumed, DateTimeOffset now)
        {
            var file = new TailedFile(lineage.Path, sibling.Identity, lineage.Labels, lineage, NewSplitter(), now)
            {
                Finishing = true,
                SeenAt = sibling.Path,
                Compressed = sibling.Compressed,
                Fingerprint = fingerprint,
                KnownSize = sibling.Compressed ? -1 : sibling.Size,
            };

            // Held open from now on, so the node compressing or deleting it does not take its lines; without a free
            // handle it is looked for again on its turn.
            if (TryOpen(file) && file.Compressed)
            {
                // The uncompressed length its trailer gives: what its deletion before it was read would take with it.
                file.KnownSize = CompressedLog.TrailerLength(file.Stream!.SafeFileHandle);
            }

            file.Restart(start, _context.CreateAckTracker(start));
            lock (StateLock)
            {
                Files[file.Identity] = file;
                Order.Add(file);
                lineage.Insert(file, other => IsOlder(lineage, other, sibling));
            }

            if (resumed)
            {
                FileTailLog.ResumingRotated(_context.Logger, sibling.Path, sibling.Identity, lineage.Path, start);
            }
            else
            {
                FileTailLog.MissedGeneration(_context.Logger, sibling.Path, sibling.Identity, lineage.Path, start);
            }
        }

        /// <summary>Whether a generation in the chain rotated before <paramref name="sibling"/>.</summary>
        private static bool IsOlder(TargetLineage lineage, TailedFile other, RotatedFile sibling)
        {
            if (!other.Finishing)
            {
                return false;
            }

            // One rotated away (or deleted) before the sibling was found is older, unless its name says otherwise.
            return other.SeenAt is null
                || !RotatedSiblings.IsGeneration(lineage.Name, Path.GetFileName(other.SeenAt), out var suffix, out _)
                || RotatedSiblings.CompareAge(suffix, sibling.Suffix) <= 0;
        }

        /// <summary>Finds a finishing generation that has no handle: where it was last seen, else among its target's siblings (renamed, copied or compressed).</summary>
        private Located TryLocate(TailedFile file)
        {
            if (_source._openHandles >= _options.MaxOpenFiles && !EvictOne())
            {
                return Located.Later;
            }

            if (file.SeenAt is not null && TryOpen(file))
            {
                return Located.Opened;
            }

            var siblings = Siblings(file.Lineage);
            if (!file.Compressed)
            {
                foreach (var sibling in siblings)
                {
                    if (!sibling.Compressed && sibling.Identity == file.Identity)
                    {
                        SetSeenAt(file, sibling.Path);
                        if (TryOpen(file))
                        {
                            return Located.Opened;
                        }
                    }
                }
            }

            for (var pass = 0; file.Fingerprint.Length > 0 && pass < 2; pass++)
            {
                foreach (var sibling in siblings)
                {
                    if (sibling.Compressed != (pass == 1) || Files.ContainsKey(sibling.Identity))
                    {
                        continue;
                    }

                    var count = FileFingerprint.ReadHead(sibling.Path, sibling.Compressed, sibling.Identity, _head);
                    if (count > 0 && file.Fingerprint.MatchesHead(_head.AsSpan(0, count)))
                    {
                        Relocate(file, sibling);
                        if (TryOpen(file))
                        {
                            return Located.Opened;
                        }
                    }
                }
            }

            return Located.Gone;
        }

        private void SetSeenAt(TailedFile file, string path)
        {
            lock (StateLock)
            {
                file.SeenAt = path;
            }
        }

        /// <summary>Continues a generation in another file with the same content (its copy or compressed form), at the same offset.</summary>
        private void Relocate(TailedFile file, RotatedFile sibling)
        {
            CloseGzip(file);
            lock (StateLock)
            {
                if (Files.TryGetValue(file.Identity, out var tracked) && ReferenceEquals(tracked, file))
                {
                    Files.Remove(file.Identity);
                }

                file.Identity = sibling.Identity;
                file.Compressed = sibling.Compressed;
                file.SeenAt = sibling.Path;
                Files[sibling.Identity] = file;
            }

            FileTailLog.ResumingRotated(_context.Logger, sibling.Path, sibling.Identity, file.Path, file.Splitter.Position);
        }

        /// <summary>
        /// copytruncate: the file was cut to 0 (and written again) after a copy was taken. The rest of what it held is
        /// read from the copy, from the position reached, before the file itself is read again from 0.
        /// </summary>
        private async Task TruncatedAsync(TailedFile file, FileStatus status, CancellationToken cancellationToken)
        {
            // Lines of the old content go out under the old tracker before it passes to the copy.
            await FlushChunkAsync(cancellationToken).ConfigureAwait(false);
            var position = file.Splitter.Position;
            var previous = file.Fingerprint;
            var copy = FindCopy(file.Lineage, previous, file.Identity);
            var fresh = FileFingerprint.Read(file.Stream!.SafeFileHandle);
            var now = _context.TimeProvider.GetUtcNow();
            TailedFile? rest = null;
            lock (StateLock)
            {
                if (copy is not null)
                {
                    rest = new TailedFile(file.Path, copy.Identity, file.Labels, file.Lineage, file.Splitter, now)
                    {
                        Finishing = true,
                        SeenAt = copy.Path,
                        Compressed = copy.Compressed,
                        Fingerprint = previous,
                    };
                    rest.Continue(file);
                    Files[copy.Identity] = rest;
                    Order.Add(rest);
                    file.Lineage.InsertBefore(rest, file);
                    file.Lineage.MarkSeen(copy.Identity, previous);
                    file.Splitter = NewSplitter();
                }

                // The new content's first bytes are taken as it is read from 0; until then, what the file starts with now.
                file.Fingerprint = fresh;
                file.HeadLength = 0;
                file.Restart(0, _context.CreateAckTracker(0));
                file.LastSize = -1;
                file.KnownSize = status.Size;
            }

            if (rest is not null)
            {
                FileTailLog.ReadingCopy(_context.Logger, file.Path, copy!.Path, position);
                TryOpen(rest);
            }
            else
            {
                FileTailLog.CopyMissing(_context.Logger, file.Path, position);
            }

            RequestSave();
        }

        /// <summary>The copy of a truncated file: an untracked sibling whose first bytes match; the newest plain one in preference.</summary>
        private RotatedFile? FindCopy(TargetLineage lineage, FileFingerprint fingerprint, FileIdentity original)
        {
            if (fingerprint.Length == 0)
            {
                return null;
            }

            RotatedFile? best = null;
            foreach (var sibling in Siblings(lineage))
            {
                if (sibling.Identity == original || Files.ContainsKey(sibling.Identity) || (best is { Compressed: false } && sibling.Compressed))
                {
                    continue;
                }

                var count = FileFingerprint.ReadHead(sibling.Path, sibling.Compressed, sibling.Identity, _head);
                if (count > 0 && fingerprint.MatchesHead(_head.AsSpan(0, count)))
                {
                    best = sibling;
                }
            }

            return best;
        }

        private List<RotatedFile> Siblings(TargetLineage lineage)
        {
            string[]? names = null;
            if (_listings is not null && !_listings.TryGetValue(lineage.Directory, out names))
            {
                _listings[lineage.Directory] = names = RotatedSiblings.List(lineage.Directory);
            }

            return RotatedSiblings.Find(names ?? RotatedSiblings.List(lineage.Directory), lineage.Directory, lineage.Name);
        }

        private FileFingerprint HeadFingerprint(RotatedFile sibling)
        {
            var count = FileFingerprint.ReadHead(sibling.Path, sibling.Compressed, sibling.Identity, _head);
            return count < 0 ? default : FileFingerprint.Of(_head.AsSpan(0, count));
        }

        private LineSplitter NewSplitter() => new(_options.MaxLineBytes, _options.OversizedLines);

    }
}
