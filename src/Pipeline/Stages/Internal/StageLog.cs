using Microsoft.Extensions.Logging;

namespace Pipeline.Stages.Internal;

/// <summary>The stages' log messages.</summary>
internal static partial class StageLog
{
    [LoggerMessage(101, LogLevel.Warning, "Stage {Stage}: {Message}")]
    public static partial void Warning(ILogger logger, string stage, string message);
}
