namespace Pipeline.Aggregator.Wal;

/// <summary>Settings of the <see cref="WriteAheadLog"/> (filled from <c>IngesterOptions</c>).</summary>
internal sealed class WalOptions
{
    public required string Directory { get; init; }

    public WalFsyncPolicy FsyncPolicy { get; init; } = WalFsyncPolicy.EveryBatch;

    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    public long SegmentSize { get; init; } = 64L << 20;

    public int MaxRecordSize { get; init; } = 256 << 20;

    /// <summary>Test hook: runs before each group is written; what it throws fails the group, as an I/O error would.</summary>
    public Action? BeforeWrite { get; init; }

    /// <summary>
    /// Test hook: runs before each group's fsync; what it throws fails the group as a failed fsync would (the group's
    /// appends fail and none of them is stored).
    /// </summary>
    public Action? BeforeFsync { get; init; }

    /// <summary>Test hook: awaited by the writer before it takes a group from the queue.</summary>
    public Func<ValueTask>? WriterGate { get; init; }
}
