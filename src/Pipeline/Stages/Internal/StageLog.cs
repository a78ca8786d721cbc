using Microsoft.Extensions.Logging;

namespace Pipeline.Stages.Internal;

/// <summary>The stages' log messages.</summary>
internal static partial class StageLog
{
    [LoggerMessage(100, LogLevel.Warning, "Stage {Stage}: the regular expression '{Pattern}' cannot run on the non-backtracking engine ({Reason}); it runs on the backtracking engine with a match timeout")]
    public static partial void RegexFallback(ILogger logger, string stage, string pattern, string reason);

    [LoggerMessage(101, LogLevel.Warning, "Stage {Stage}: {Message}")]
    public static partial void Warning(ILogger logger, string stage, string message);
}
