using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>What the distributor's stages share: each tenant's limits, the clock, and Loki's discard counters.</summary>
internal abstract class DistributorStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards) : ILogStage
{
    protected DistributorLimitsByTenant Limits { get; } = limits;

    protected TimeProvider Time { get; } = time;

    protected DiscardCounters Discards { get; } = discards;

    public abstract StageResult Process(LogEntry entry);
}
