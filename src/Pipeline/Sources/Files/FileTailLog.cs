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
}
