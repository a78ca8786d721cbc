using Microsoft.Extensions.Logging;

namespace Pipeline.Loki.Push;

internal static partial class LokiPushLog
{
    [LoggerMessage(1, LogLevel.Warning, "Loki at {Host} rejected {Entries} entries of tenant '{Tenant}' with status {Status}; dropped. Response: {Body}")]
    public static partial void Rejected(ILogger logger, string host, int entries, string tenant, int status, string body);

    [LoggerMessage(2, LogLevel.Warning, "Push to {Host} for tenant '{Tenant}' failed ({Reason}); retry {Attempt} in {Delay}")]
    public static partial void Retrying(ILogger logger, string host, string tenant, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(3, LogLevel.Error, "Push to {Host} for tenant '{Tenant}' failed after {Retries} retries ({Reason}); dropped {Entries} entries")]
    public static partial void GaveUp(ILogger logger, string host, string tenant, int retries, string reason, int entries);

    [LoggerMessage(4, LogLevel.Warning, "Dropped an entry of {Bytes} bytes: larger than the maximum request size of {Max} bytes")]
    public static partial void TooLarge(ILogger logger, long bytes, int max);
}
