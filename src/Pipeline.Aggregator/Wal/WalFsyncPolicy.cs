namespace Pipeline.Aggregator.Wal;

/// <summary>When the WAL forces its writes to disk.</summary>
public enum WalFsyncPolicy
{
    /// <summary>
    /// fsync once per group of concurrent appends, before they complete: an acknowledged push survives a power loss.
    /// Concurrent pushes share one fsync (group commit).
    /// </summary>
    EveryBatch,

    /// <summary>
    /// Appends complete once their group is written to the operating system (it survives a process crash); fsync runs on
    /// an interval, so a power loss can lose up to one interval of acknowledged pushes (Loki's and Prometheus' trade-off).
    /// </summary>
    Interval,
}
