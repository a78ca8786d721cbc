using Microsoft.Extensions.Logging;

namespace Pipeline.Loki.Push;

internal static partial class LokiPushLog
{
    [LoggerMessage(4, LogLevel.Warning, "Dropped an entry of {Bytes} bytes: larger than the maximum request size of {Max} bytes")]
    public static partial void TooLarge(ILogger logger, long bytes, int max);
}
