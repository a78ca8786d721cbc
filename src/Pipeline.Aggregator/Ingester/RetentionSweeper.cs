using Microsoft.Extensions.Logging;

namespace Pipeline.Aggregator.Ingester;

/// <summary>Deletes indexed chunks whose newest entry is older than their tenant's retention period.</summary>
internal sealed partial class RetentionSweeper(IngesterState state, ILogger logger)
{
    public int Sweep()
    {
        var nowNs = (state.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        var deleted = 0;
        foreach (var tenant in state.Tenants)
        {
            var period = state.Options.RetentionFor(tenant.Id);
            if (period <= TimeSpan.Zero)
            {
                continue;
            }

            var cutoff = nowNs - (period.Ticks * 100);
            foreach (var (labels, chunks) in tenant.Index.Snapshot())
            {
                foreach (var chunk in chunks)
                {
                    if (chunk.MaxTs < cutoff)
                    {
                        tenant.Index.Remove(labels, chunk);
                        try
                        {
                            state.Store.Delete(tenant.Id, labels.Fingerprint, chunk);
                        }
                        catch (IOException ex)
                        {
                            LogDeleteFailed(logger, tenant.Id, labels.ToString(), ex);
                        }

                        deleted++;
                    }
                }
            }

            tenant.Index.Sync();
            tenant.Index.CompactIfWorthIt();
        }

        if (deleted > 0)
        {
            LogRetention(logger, deleted);
        }

        return deleted;
    }

    [LoggerMessage(22, LogLevel.Information, "Retention deleted {Count} chunk(s)")]
    private static partial void LogRetention(ILogger logger, int count);

    [LoggerMessage(25, LogLevel.Error, "Deleting an expired chunk of tenant {Tenant}, stream {Stream} failed; it is out of the index")]
    private static partial void LogDeleteFailed(ILogger logger, string tenant, string stream, Exception exception);
}
