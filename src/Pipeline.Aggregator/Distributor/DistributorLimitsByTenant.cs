namespace Pipeline.Aggregator.Distributor;

/// <summary>The limits in force for each tenant: its own, or the defaults.</summary>
internal sealed class DistributorLimitsByTenant
{
    private readonly DistributorLimits _defaults;
    private readonly Dictionary<string, DistributorLimits> _perTenant;

    public DistributorLimitsByTenant(DistributorLimits defaults, IDictionary<string, DistributorLimits> perTenant)
    {
        _defaults = defaults;
        _perTenant = new Dictionary<string, DistributorLimits>(perTenant, StringComparer.Ordinal);
    }

    public DistributorLimits For(string? tenant) => tenant is not null && _perTenant.TryGetValue(tenant, out var limits) ? limits : _defaults;
}
