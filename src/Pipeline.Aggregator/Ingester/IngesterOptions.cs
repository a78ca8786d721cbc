using Pipeline.Aggregator.Wal;

namespace Pipeline.Aggregator.Ingester;

/// <summary>Settings of a <see cref="LogIngester"/>; defaults follow a Loki single binary.</summary>
public sealed class IngesterOptions
{
    /// <summary>
    /// Default uncompressed size at which a head block becomes a block: 256 KiB, Loki's <c>chunk_block_size</c>. Heads hold
    /// their entries compressed (as the WAL wrote them); measured with 100 streams, 256 KiB blocks take about 8% less ingest
    /// CPU than 64 KiB ones (fewer, larger chunk-file writes) for about 13 MB more peak memory (a head's entry index).
    /// </summary>
    public const int DefaultBlockSize = 256 * 1024;

    /// <summary>Default compressed size at which a chunk is cut: 1.5 MB (Loki's <c>chunk_target_size</c>).</summary>
    public const int DefaultTargetChunkSize = 1_572_864;

    /// <summary>Default limit of in-memory log data: 16 MiB.</summary>
    public const long DefaultMemoryLimitBytes = 16L << 20;

    /// <summary>Default number of appends that may wait for the WAL at a time: 16.</summary>
    public const int DefaultMaxQueuedAppends = 16;

    /// <summary>The folder holding the WAL (<c>wal/</c>) and each tenant's chunks and index (<c>tenants/&lt;tenant&gt;/</c>).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>When the WAL forces writes to disk; default <see cref="WalFsyncPolicy.EveryBatch"/>.</summary>
    public WalFsyncPolicy WalFsyncPolicy { get; init; } = WalFsyncPolicy.EveryBatch;

    /// <summary>The fsync interval of <see cref="WalFsyncPolicy.Interval"/>; default 1 s.</summary>
    public TimeSpan WalFsyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Size at which a WAL segment is closed and a new one started; default 64 MiB.</summary>
    public long WalSegmentSize { get; init; } = 64L << 20;

    /// <summary>Uncompressed size at which a stream's head block is sorted and snappy-compressed.</summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    /// <summary>Compressed size at which a chunk is cut and flushed.</summary>
    public int TargetChunkSize { get; init; } = DefaultTargetChunkSize;

    /// <summary>Age at which a chunk is cut (Loki's <c>max_chunk_age</c>, 2 h); half of it is the out-of-order window.</summary>
    public TimeSpan MaxChunkAge { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Time without appends after which a stream's chunk is cut (Loki's <c>chunk_idle_period</c>, 30 min).</summary>
    public TimeSpan ChunkIdlePeriod { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The most log data the ingester holds in memory: head blocks, and blocks whose chunk file could not be written. Cut
    /// blocks go straight to their chunk file; past this limit the largest heads are cut early, and while blocks cannot be
    /// written out (disk full) appends wait, then fail with <see cref="IngesterOverloadedException"/>; default 16 MiB.
    /// </summary>
    public long MemoryLimitBytes { get; init; } = DefaultMemoryLimitBytes;

    /// <summary>
    /// How many appends may wait for the WAL at a time, whoever calls <see cref="LogIngester.AppendAsync(string, IReadOnlyList{Storage.IngestStream}, CancellationToken)"/>;
    /// a further append waits for room up to <see cref="AppendTimeout"/>. Default 16.
    /// </summary>
    public int MaxQueuedAppends { get; init; } = DefaultMaxQueuedAppends;

    /// <summary>
    /// How long an append waits for room in the WAL queue or for memory under the limit before it fails with
    /// <see cref="IngesterOverloadedException"/> (the push API answers 429); default 5 s.
    /// </summary>
    public TimeSpan AppendTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the background loop looks for chunks to flush; default 30 s.</summary>
    public TimeSpan FlushCheckPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long flushed chunks are kept (Loki's <c>retention_period</c>); <see cref="TimeSpan.Zero"/> (default) keeps them forever.</summary>
    public TimeSpan RetentionPeriod { get; init; } = TimeSpan.Zero;

    /// <summary>Per-tenant overrides of <see cref="RetentionPeriod"/>.</summary>
    public IReadOnlyDictionary<string, TimeSpan>? TenantRetention { get; init; }

    /// <summary>How often the background loop deletes expired chunks; default 10 min.</summary>
    public TimeSpan RetentionCheckPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Whether the flush and retention loops run in the background (default); tests call the methods themselves.</summary>
    public bool RunBackgroundLoops { get; init; } = true;

    /// <summary>Test hook: runs before each WAL group is written; what it throws fails the write (disk full, I/O error).</summary>
    internal Action? WalBeforeWrite { get; init; }

    /// <summary>Test hook: runs before each block is appended to its chunk file; what it throws fails the write (disk full).</summary>
    internal Action? ChunkBeforeWrite { get; init; }

    /// <summary>Test hook: awaited by the WAL writer before each group.</summary>
    internal Func<ValueTask>? WalWriterGate { get; init; }

    /// <summary>The out-of-order window: entries older than the newest of their stream minus this are refused.</summary>
    internal TimeSpan OutOfOrderWindow => MaxChunkAge / 2;

    internal string WalDirectory => Path.Combine(DataDirectory, "wal");

    internal string TenantsDirectory => Path.Combine(DataDirectory, "tenants");

    internal TimeSpan RetentionFor(string tenant) =>
        TenantRetention is not null && TenantRetention.TryGetValue(tenant, out var period) ? period : RetentionPeriod;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("IngesterOptions.DataDirectory is required: the folder for the WAL, chunks and index", nameof(DataDirectory));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1024, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(TargetChunkSize, 1024, nameof(TargetChunkSize));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxChunkAge, TimeSpan.Zero, nameof(MaxChunkAge));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ChunkIdlePeriod, TimeSpan.Zero, nameof(ChunkIdlePeriod));
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLimitBytes, 1L << 16, nameof(MemoryLimitBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(FlushCheckPeriod, TimeSpan.Zero, nameof(FlushCheckPeriod));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetentionPeriod, TimeSpan.Zero, nameof(RetentionPeriod));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetentionCheckPeriod, TimeSpan.Zero, nameof(RetentionCheckPeriod));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(WalFsyncInterval, TimeSpan.Zero, nameof(WalFsyncInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(WalSegmentSize, 4096, nameof(WalSegmentSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedAppends, 1, nameof(MaxQueuedAppends));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AppendTimeout, TimeSpan.Zero, nameof(AppendTimeout));
        if (TenantRetention is not null)
        {
            foreach (var (tenant, period) in TenantRetention)
            {
                if (period < TimeSpan.Zero)
                {
                    throw new ArgumentOutOfRangeException(nameof(TenantRetention), period, $"retention of tenant '{tenant}' must not be negative");
                }
            }
        }
    }
}
