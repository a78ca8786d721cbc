namespace Pipeline.Aggregator.Wal;

/// <summary>A damaged place found in a WAL segment on open: the segment was cut there and the records before it kept.</summary>
/// <param name="SegmentPath">The segment file.</param>
/// <param name="Offset">Where the damage starts (the segment now ends here).</param>
/// <param name="Reason">What was wrong: a torn (partial) record, an impossible length, a checksum mismatch, an undecodable record.</param>
/// <param name="BytesCut">How many bytes were cut off.</param>
public sealed record WalCorruption(string SegmentPath, long Offset, string Reason, long BytesCut);

/// <summary>What replaying the WAL found.</summary>
public sealed class WalReplayResult
{
    internal WalReplayResult(int segments, long records, long entries, IReadOnlyList<WalCorruption> corruptions)
    {
        Segments = segments;
        Records = records;
        Entries = entries;
        Corruptions = corruptions;
    }

    /// <summary>Segment files read.</summary>
    public int Segments { get; }

    /// <summary>Good records replayed.</summary>
    public long Records { get; }

    /// <summary>Entries in the replayed records (including those already in flushed chunks, which are skipped).</summary>
    public long Entries { get; }

    /// <summary>Damaged places found and cut; empty after a clean stop.</summary>
    public IReadOnlyList<WalCorruption> Corruptions { get; }

    /// <summary>Whether no damage was found.</summary>
    public bool IsClean => Corruptions.Count == 0;
}
