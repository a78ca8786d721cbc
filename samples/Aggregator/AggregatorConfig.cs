using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Http;
using Pipeline.Aggregator.LogQL;
using Pipeline.Hosting.Config;

namespace Aggregator;

/// <summary>
/// The YAML config file (Loki's <c>limits_config</c> names where they exist), read with the YAML node model (no
/// reflection, so the host also runs as a native AOT build); an unknown key or a bad value is an error naming it.
/// </summary>
internal static class AggregatorConfig
{
    private const double Mb = 1024 * 1024;

    private static readonly string[] s_limitKeys =
    [
        "ingestion_rate_mb", "ingestion_burst_size_mb", "per_stream_rate_limit_mb", "per_stream_rate_limit_burst_mb", "max_line_size",
        "max_label_names_per_series", "max_label_name_length", "max_label_value_length", "max_global_streams_per_user",
        "reject_old_samples", "reject_old_samples_max_age_hours", "creation_grace_period_minutes", "discover_service_name",
        "discover_log_levels",
    ];

    /// <summary>Reads <paramref name="path"/> into <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The file is not valid; the message names the key and what was wrong.</exception>
    public static void Load(string path, AggregatorServerOptions options)
    {
        try
        {
            Apply(ConfigNode.Parse(File.ReadAllText(path), path), options);
        }
        catch (ConfigException ex)
        {
            throw new ArgumentException(ex.Message, ex);
        }
    }

    private static void Apply(ConfigNode root, AggregatorServerOptions options)
    {
        if (root.IsMissing)
        {
            return;
        }

        root.AllowOnly("listen", "data", "multi_tenant", "bearer_tokens", "basic_auth", "max_request_body_bytes", "limits", "overrides", "query");
        options.ListenAddress = root["listen"].AsString() ?? options.ListenAddress;
        options.DataDirectory = root["data"].AsString() ?? options.DataDirectory;
        options.MultiTenant = root["multi_tenant"].AsBool(options.MultiTenant);
        options.MaxRequestBodyBytes = root["max_request_body_bytes"].AsInt64(options.MaxRequestBodyBytes, min: 1);
        foreach (var (token, tenant) in root["bearer_tokens"].AsStringMap())
        {
            options.BearerTokens[token] = tenant;
        }

        foreach (var (user, entry) in root["basic_auth"].Entries())
        {
            entry.AllowOnly("password", "tenant");
            options.BasicAuthUsers[user] = new BasicAuthUser(entry["password"].AsString() ?? string.Empty, entry["tenant"].AsString() ?? string.Empty);
        }

        ReadQuery(root["query"], options);
        options.Limits = ReadLimits(root["limits"]);
        foreach (var (tenant, limits) in root["overrides"].Entries())
        {
            options.TenantLimits[tenant] = ReadLimits(limits);
        }
    }

    /// <summary>
    /// The query side, for every tenant: Loki's <c>limits_config</c> query limits, <c>querier.max_concurrent</c> (here per
    /// tenant) and <c>query_scheduler.max_outstanding_requests_per_tenant</c>.
    /// </summary>
    private static void ReadQuery(ConfigNode node, AggregatorServerOptions options)
    {
        node.AllowOnly("max_query_series", "max_entries_limit_per_query", "max_query_length", "query_timeout", "max_concurrent",
            "max_concurrent_total", "max_outstanding_requests_per_tenant", "max_query_bytes");
        var query = options.Query;
        options.Query = new LogQLEngineOptions
        {
            MaxSeries = node["max_query_series"].AsInt32(query.MaxSeries, min: 1),
            MaxEntriesLimit = node["max_entries_limit_per_query"].AsInt32(query.MaxEntriesLimit, min: 1),
            MaxPoints = query.MaxPoints,
            MaxIntermediateSeries = query.MaxIntermediateSeries,
            MaxQueryLength = node["max_query_length"].AsDuration(query.MaxQueryLength, allowZero: false),
            Timeout = node["query_timeout"].AsDuration(query.Timeout, allowZero: false),
            MaxQueryBytes = node["max_query_bytes"].AsByteSize(query.MaxQueryBytes),
        };
        options.MaxConcurrentQueriesPerTenant = node["max_concurrent"].AsInt32(options.MaxConcurrentQueriesPerTenant, min: 1);
        options.MaxConcurrentQueries = node["max_concurrent_total"].AsInt32(options.MaxConcurrentQueries, min: 1);
        options.MaxQueuedQueriesPerTenant = node["max_outstanding_requests_per_tenant"].AsInt32(options.MaxQueuedQueriesPerTenant, min: 0);
    }

    private static DistributorLimits ReadLimits(ConfigNode node)
    {
        node.AllowOnly(s_limitKeys);
        var limits = new DistributorLimits();
        limits.IngestionRateBytes = Megabytes(node["ingestion_rate_mb"], limits.IngestionRateBytes);
        limits.IngestionBurstBytes = Megabytes(node["ingestion_burst_size_mb"], limits.IngestionBurstBytes);
        limits.PerStreamRateBytes = Megabytes(node["per_stream_rate_limit_mb"], limits.PerStreamRateBytes);
        limits.PerStreamBurstBytes = Megabytes(node["per_stream_rate_limit_burst_mb"], limits.PerStreamBurstBytes);
        limits.MaxLineSize = node["max_line_size"].AsInt32(limits.MaxLineSize, min: 0);
        limits.MaxLabelNamesPerSeries = node["max_label_names_per_series"].AsInt32(limits.MaxLabelNamesPerSeries, min: 1);
        limits.MaxLabelNameLength = node["max_label_name_length"].AsInt32(limits.MaxLabelNameLength, min: 1);
        limits.MaxLabelValueLength = node["max_label_value_length"].AsInt32(limits.MaxLabelValueLength, min: 1);
        limits.MaxStreamsPerTenant = node["max_global_streams_per_user"].AsInt32(limits.MaxStreamsPerTenant, min: 0);
        limits.RejectOldSamples = node["reject_old_samples"].AsBool(limits.RejectOldSamples);
        limits.RejectOldSamplesMaxAge = node["reject_old_samples_max_age_hours"].IsMissing
            ? limits.RejectOldSamplesMaxAge
            : TimeSpan.FromHours(node["reject_old_samples_max_age_hours"].AsDouble(0));
        limits.CreationGracePeriod = node["creation_grace_period_minutes"].IsMissing
            ? limits.CreationGracePeriod
            : TimeSpan.FromMinutes(node["creation_grace_period_minutes"].AsDouble(0));
        if (!node["discover_service_name"].IsMissing)
        {
            limits.DiscoverServiceName = [.. node["discover_service_name"].AsStringList()];
        }

        limits.DiscoverLogLevels = node["discover_log_levels"].AsBool(limits.DiscoverLogLevels);
        return limits;
    }

    private static double Megabytes(ConfigNode node, double fallback) => node.IsMissing ? fallback : node.AsDouble(0) * Mb;
}
