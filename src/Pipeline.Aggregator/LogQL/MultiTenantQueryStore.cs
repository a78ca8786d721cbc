using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// Loki's multi-tenant queries: a tenant <c>a|b</c> reads the streams of each tenant, each labelled
/// <c>__tenant_id__</c> with its tenant (which a selector may match on, such as <c>{__tenant_id__="a"}</c>).
/// </summary>
internal sealed class MultiTenantQueryStore(ILogQueryStore inner) : ILogQueryStore
{
    /// <summary>The label naming the tenant of each stream.</summary>
    public const string TenantLabel = "__tenant_id__";

    /// <summary>Whether a tenant value names several tenants.</summary>
    public static bool IsMultiTenant(string tenant) => tenant.Contains('|', StringComparison.Ordinal);

    public IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        List<LabelMatcher> others = [];
        List<LabelMatcher> onTenant = [];
        foreach (var matcher in matchers)
        {
            (matcher.Name == TenantLabel ? onTenant : others).Add(matcher);
        }

        var builder = new LabelSetBuilder();
        foreach (var one in tenant.Split('|', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal))
        {
            if (!onTenant.TrueForAll(m => m.Matches(one)))
            {
                continue;
            }

            foreach (var stream in inner.SelectStreams(one, others, fromNs, toNs))
            {
                builder.Reset(stream.Labels);
                builder.Set(TenantLabel, one);
                yield return new TenantStream(one, stream, builder.Build());
            }
        }
    }

    public IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction)
    {
        var tenantStream = (TenantStream)stream;
        return inner.ReadEntries(tenantStream.Tenant, tenantStream.Inner, fromNs, toNs, direction);
    }

    private sealed class TenantStream(string tenant, StoredStream inner, LabelSet labels) : StoredStream(labels)
    {
        public string Tenant { get; } = tenant;

        public StoredStream Inner { get; } = inner;
    }
}
