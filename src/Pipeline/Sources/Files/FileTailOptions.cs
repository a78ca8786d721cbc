namespace Pipeline.Sources.Files;

/// <summary>Where a file without a usable stored position starts.</summary>
public enum FileStartPolicy
{
    /// <summary>At its beginning: nothing on the node is missed (duplicates are possible).</summary>
    Beginning,

    /// <summary>At its end: only new lines are read (what was already there is skipped).</summary>
    End,
}

/// <summary>Settings of a <see cref="FileTailSource"/> (Promtail's scrape config and positions block).</summary>
public sealed class FileTailOptions
{
    /// <summary>Default <see cref="SyncPeriod"/> (Promtail's <c>positions.sync_period</c>).</summary>
    public static readonly TimeSpan DefaultSyncPeriod = TimeSpan.FromSeconds(10);

    /// <summary>Default <see cref="ScanInterval"/> (Promtail's <c>target_config.sync_period</c>).</summary>
    public static readonly TimeSpan DefaultScanInterval = TimeSpan.FromSeconds(10);

    /// <summary>Default <see cref="PollInterval"/>.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Default <see cref="IdleTimeout"/>.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(5);


    /// <summary>Default <see cref="MaxLineBytes"/> (Loki's 256 KB line limit).</summary>
    public const int DefaultMaxLineBytes = LineSplitter.DefaultMaxLineBytes;

    /// <summary>Default <see cref="MaxOpenFiles"/>.</summary>
    public const int DefaultMaxOpenFiles = 1000;

    /// <summary>Default <see cref="ReadBufferSize"/>.</summary>
    public const int DefaultReadBufferSize = 64 * 1024;

    /// <summary>Glob patterns of the files to tail (<c>__path__</c>), with <c>*</c>, <c>?</c>, <c>[...]</c>, <c>{a,b}</c> and <c>**</c>. Required.</summary>
    public IList<string> Include { get; } = [];

    /// <summary>Glob patterns of files not to tail (<c>__path_exclude__</c>).</summary>
    public IList<string> Exclude { get; } = [];

    /// <summary>Static labels every entry carries (besides <c>filename</c> and the Kubernetes labels).</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The positions file, or <see langword="null"/> to keep positions in memory only.</summary>
    public string? PositionsPath { get; set; }

    /// <summary>
    /// Positions are written as acknowledgements arrive (coalesced: one write at a time, the next one taking every
    /// acknowledgement that arrived meanwhile) and at shutdown; this is how often they are also written regardless,
    /// forgetting stored entries of files that are gone (Promtail's <c>positions.sync_period</c>). Default 10 s.
    /// </summary>
    public TimeSpan SyncPeriod { get; set; } = DefaultSyncPeriod;

    /// <summary>How often the globs are expanded again to find new, rotated and deleted files. Default 10 s.</summary>
    public TimeSpan ScanInterval { get; set; } = DefaultScanInterval;

    /// <summary>How long the source waits after a round that found nothing new. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>
    /// Files with no stored position that exist at the first scan start at their end (only new lines are read).
    /// Files that appear later are new data and always start at their beginning. Default <see langword="false"/>.
    /// </summary>
    public bool TailFromEnd { get; set; }

    /// <summary>Where files start when the positions file was corrupt (and moved aside). Default <see cref="FileStartPolicy.Beginning"/>.</summary>
    public FileStartPolicy CorruptPositionsStart { get; set; } = FileStartPolicy.Beginning;

    /// <summary>The maximum line length in bytes. Default 256 KiB.</summary>
    public int MaxLineBytes { get; set; } = DefaultMaxLineBytes;

    /// <summary>What happens to longer lines. Default <see cref="OversizedLinePolicy.Truncate"/>.</summary>
    public OversizedLinePolicy OversizedLines { get; set; } = OversizedLinePolicy.Truncate;

    /// <summary>What happens to invalid UTF-8. Default <see cref="InvalidUtf8Policy.PassThrough"/>.</summary>
    public InvalidUtf8Policy InvalidUtf8 { get; set; } = InvalidUtf8Policy.PassThrough;

    /// <summary>The maximum number of open file handles. Default 1000.</summary>
    public int MaxOpenFiles { get; set; } = DefaultMaxOpenFiles;

    /// <summary>A file with nothing new for this long has its handle closed (reopened when it grows). Default 5 min.</summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>Whether rotated (<c>*.log.&lt;suffix&gt;</c>) and compressed files may be targets. Default <see langword="false"/>.</summary>
    public bool IncludeRotated { get; set; }

    /// <summary>Whether a file-system watcher wakes the source early (a hint only; scans still run). Default <see langword="true"/>.</summary>
    public bool UseFileSystemWatcher { get; set; } = true;

    /// <summary>The read buffer size of each file's <c>PipeReader</c>. Default 64 KiB.</summary>
    public int ReadBufferSize { get; set; } = DefaultReadBufferSize;

    internal FileTailOptions Validate()
    {
        if (Include.Count == 0)
        {
            throw new ArgumentException("FileTailOptions.Include needs at least one glob pattern (Promtail's __path__).", nameof(Include));
        }

        foreach (var pattern in Include.Concat(Exclude))
        {
            if (string.IsNullOrWhiteSpace(pattern))
            {
                throw new ArgumentException("FileTailOptions.Include and Exclude must not contain empty patterns.", nameof(Include));
            }

            _ = GlobPattern.Parse(pattern);
        }

        ThrowIfNotPositive(SyncPeriod, nameof(SyncPeriod));
        ThrowIfNotPositive(ScanInterval, nameof(ScanInterval));
        ThrowIfNotPositive(PollInterval, nameof(PollInterval));
        ThrowIfNotPositive(IdleTimeout, nameof(IdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLineBytes, 1, nameof(MaxLineBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxLineBytes, 64 * 1024 * 1024, nameof(MaxLineBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOpenFiles, 1, nameof(MaxOpenFiles));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadBufferSize, 4096, nameof(ReadBufferSize));
        if (!Enum.IsDefined(OversizedLines) || !Enum.IsDefined(InvalidUtf8) || !Enum.IsDefined(CorruptPositionsStart))
        {
            throw new ArgumentOutOfRangeException(nameof(OversizedLines), "FileTailOptions has an undefined enum value.");
        }

        var copy = new FileTailOptions
        {
            PositionsPath = PositionsPath,
            SyncPeriod = SyncPeriod,
            ScanInterval = ScanInterval,
            PollInterval = PollInterval,
            TailFromEnd = TailFromEnd,
            CorruptPositionsStart = CorruptPositionsStart,
            MaxLineBytes = MaxLineBytes,
            OversizedLines = OversizedLines,
            InvalidUtf8 = InvalidUtf8,
            MaxOpenFiles = MaxOpenFiles,
            IdleTimeout = IdleTimeout,
            IncludeRotated = IncludeRotated,
            UseFileSystemWatcher = UseFileSystemWatcher,
            ReadBufferSize = ReadBufferSize,
        };
        foreach (var pattern in Include)
        {
            copy.Include.Add(pattern);
        }

        foreach (var pattern in Exclude)
        {
            copy.Exclude.Add(pattern);
        }

        foreach (var (name, value) in Labels)
        {
            copy.Labels[name] = value;
        }

        return copy;
    }

    private static void ThrowIfNotPositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"FileTailOptions.{name} must be positive.");
        }
    }
}
