using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Http;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Aggregator;

/// <summary>The YAML config file (Loki's <c>limits_config</c> names where they exist).</summary>
internal sealed class AggregatorConfig
{
    public string? Listen { get; set; }

    public string? Data { get; set; }

    public bool MultiTenant { get; set; }

    public Dictionary<string, string> BearerTokens { get; set; } = [];

    public Dictionary<string, BasicUser> BasicAuth { get; set; } = [];

    public long? MaxRequestBodyBytes { get; set; }

    public LimitsConfig? Limits { get; set; }

    public Dictionary<string, LimitsConfig> Overrides { get; set; } = [];

    public static AggregatorConfig Load(string path)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            return deserializer.Deserialize<AggregatorConfig>(File.ReadAllText(path)) ?? new AggregatorConfig();
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new ArgumentException($"{path}: {ex.Message}", nameof(path), ex);
        }
    }

    public void Apply(AggregatorServerOptions options)
    {
        options.ListenAddress = Listen ?? options.ListenAddress;
        options.DataDirectory = Data ?? options.DataDirectory;
        options.MultiTenant = MultiTenant;
        options.MaxRequestBodyBytes = MaxRequestBodyBytes ?? options.MaxRequestBodyBytes;
        foreach (var (token, tenant) in BearerTokens)
        {
            options.BearerTokens[token] = tenant;
        }

        foreach (var (user, entry) in BasicAuth)
        {
            options.BasicAuthUsers[user] = new BasicAuthUser(entry.Password, entry.Tenant);
        }

        options.Limits = (Limits ?? new LimitsConfig()).ToLimits();
        foreach (var (tenant, limits) in Overrides)
        {
            options.TenantLimits[tenant] = limits.ToLimits();
        }
    }
}

internal sealed class BasicUser
{
    public string Password { get; set; } = string.Empty;

    public string Tenant { get; set; } = string.Empty;
}

internal sealed class LimitsConfig
{
    private const double Mb = 1024 * 1024;

    public double? IngestionRateMb { get; set; }

    public double? IngestionBurstSizeMb { get; set; }

    public double? PerStreamRateLimitMb { get; set; }

    public double? PerStreamRateLimitBurstMb { get; set; }

    public int? MaxLineSize { get; set; }

    public int? MaxLabelNamesPerSeries { get; set; }

    public int? MaxLabelNameLength { get; set; }

    public int? MaxLabelValueLength { get; set; }

    public int? MaxGlobalStreamsPerUser { get; set; }

    public bool? RejectOldSamples { get; set; }

    public double? RejectOldSamplesMaxAgeHours { get; set; }

    public double? CreationGracePeriodMinutes { get; set; }

    public DistributorLimits ToLimits()
    {
        var limits = new DistributorLimits();
        limits.IngestionRateBytes = IngestionRateMb * Mb ?? limits.IngestionRateBytes;
        limits.IngestionBurstBytes = IngestionBurstSizeMb * Mb ?? limits.IngestionBurstBytes;
        limits.PerStreamRateBytes = PerStreamRateLimitMb * Mb ?? limits.PerStreamRateBytes;
        limits.PerStreamBurstBytes = PerStreamRateLimitBurstMb * Mb ?? limits.PerStreamBurstBytes;
        limits.MaxLineSize = MaxLineSize ?? limits.MaxLineSize;
        limits.MaxLabelNamesPerSeries = MaxLabelNamesPerSeries ?? limits.MaxLabelNamesPerSeries;
        limits.MaxLabelNameLength = MaxLabelNameLength ?? limits.MaxLabelNameLength;
        limits.MaxLabelValueLength = MaxLabelValueLength ?? limits.MaxLabelValueLength;
        limits.MaxStreamsPerTenant = MaxGlobalStreamsPerUser ?? limits.MaxStreamsPerTenant;
        limits.RejectOldSamples = RejectOldSamples ?? limits.RejectOldSamples;
        limits.RejectOldSamplesMaxAge = RejectOldSamplesMaxAgeHours is { } hours ? TimeSpan.FromHours(hours) : limits.RejectOldSamplesMaxAge;
        limits.CreationGracePeriod = CreationGracePeriodMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : limits.CreationGracePeriod;
        return limits;
    }
}
