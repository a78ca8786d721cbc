using Microsoft.Extensions.Logging;

namespace Pipeline.Sources.Files;

/// <summary>The file tail source's log messages.</summary>
internal static partial class FileTailLog
{
    [LoggerMessage(300, LogLevel.Warning, "Positions file {Path} is corrupt ({Error}); moved aside to {Aside}. Files without a position start by the configured policy")]
    public static partial void PositionsCorrupt(ILogger logger, string path, string error, string aside);

    [LoggerMessage(301, LogLevel.Warning, "Positions file {Path} could not be read; files without a position start by the configured policy")]
    public static partial void PositionsUnreadable(ILogger logger, Exception exception, string path);

    [LoggerMessage(302, LogLevel.Warning, "Corrupt positions file {Path} could not be moved aside to {Aside}")]
    public static partial void PositionsMoveAsideFailed(ILogger logger, Exception exception, string path, string aside);

    [LoggerMessage(303, LogLevel.Warning, "Positions file {Path} could not be written; the previous one stays")]
    public static partial void PositionsWriteFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(304, LogLevel.Information, "Tailing {Path} ({Identity}) from offset {Offset}")]
    public static partial void Tailing(ILogger logger, string path, FileIdentity identity, long offset);

    [LoggerMessage(305, LogLevel.Information, "Stopped tailing {Path} ({Identity}) at offset {Offset}: {Reason}")]
    public static partial void Released(ILogger logger, string path, FileIdentity identity, long offset, string reason);

    [LoggerMessage(306, LogLevel.Warning, "{Path} was truncated (size {Size} < position {Position}); reading it again from the start")]
    public static partial void Truncated(ILogger logger, string path, long size, long position);

    [LoggerMessage(307, LogLevel.Warning, "{Path} could not be read")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(308, LogLevel.Warning, "Directory scan for {Pattern} failed")]
    public static partial void ScanFailed(ILogger logger, Exception exception, string pattern);

    [LoggerMessage(309, LogLevel.Information, "{Path} has the stored inode but different first bytes (inode reused); reading it from the start")]
    public static partial void InodeReused(ILogger logger, string path);

    [LoggerMessage(310, LogLevel.Warning, "File system watcher on {Directory} is unavailable; relying on the scan interval")]
    public static partial void WatcherUnavailable(ILogger logger, Exception exception, string directory);

    [LoggerMessage(311, LogLevel.Warning, "Open file limit {Limit} reached; {Path} waits for a free handle")]
    public static partial void OpenFileLimit(ILogger logger, int limit, string path);

    [LoggerMessage(312, LogLevel.Information, "Resuming {Path} ({Identity}), a rotated generation of {Target}, at offset {Offset}")]
    public static partial void ResumingRotated(ILogger logger, string path, FileIdentity identity, string target, long offset);

    [LoggerMessage(313, LogLevel.Information, "{Path} ({Identity}) is a generation of {Target} rotated away before it was read; reading it from offset {Offset}")]
    public static partial void MissedGeneration(ILogger logger, string path, FileIdentity identity, string target, long offset);

    [LoggerMessage(314, LogLevel.Warning, "{Path} ({Identity}) was deleted before it was read to its end: {Bytes} bytes after offset {Offset} are lost")]
    public static partial void DeletedBeforeRead(ILogger logger, string path, FileIdentity identity, long bytes, long offset);

    [LoggerMessage(315, LogLevel.Warning, "{Target} ({Identity}) in the positions file is gone from disk; what it held beyond offset {Offset}, if anything, was not read")]
    public static partial void StoredFileGone(ILogger logger, string target, FileIdentity identity, long offset);

    [LoggerMessage(316, LogLevel.Information, "{Path} was truncated (copytruncate); reading the rest of its previous content from the copy {Copy} from offset {Offset}")]
    public static partial void ReadingCopy(ILogger logger, string path, string copy, long offset);

    [LoggerMessage(317, LogLevel.Warning, "{Path} was truncated and no copy with its first bytes was found: lines written after offset {Offset} and before the truncation are lost")]
    public static partial void CopyMissing(ILogger logger, string path, long offset);

    [LoggerMessage(318, LogLevel.Warning, "{Path} holds less than its gzip trailer says and has stopped changing; taking what it holds as complete")]
    public static partial void CompressedShort(ILogger logger, string path);

    [LoggerMessage(319, LogLevel.Warning, "{Path} could not be decompressed; it is read again on the next round")]
    public static partial void DecompressFailed(ILogger logger, Exception exception, string path);
}
