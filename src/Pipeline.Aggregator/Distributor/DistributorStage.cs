using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>What the distributor's stages share: each tenant's limits, the clock, and Loki's discard counters.</summary>
internal abstract class DistributorStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards) : ILogStage
{
    protected DistributorLimitsByTenant Limits { get; } = limits;

    protected TimeProvider Time { get; } = time;

    protected DiscardCounters Discards { get; } = discards;

    private string? _lastTenant;
    private DistributorLimits? _lastLimits;

    /// <summary>The tenant's limits; a push's entries share one tenant, so the lookup is done once per run.</summary>
    protected DistributorLimits LimitsFor(string? tenant)
    {
        if (_lastLimits is null || !ReferenceEquals(tenant, _lastTenant))
        {
            _lastTenant = tenant;
            _lastLimits = Limits.For(tenant);
        }

        return _lastLimits;
    }

    public abstract StageResult Process(LogEntry entry);
}
