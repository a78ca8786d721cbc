using System.Net;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.LogQL;

namespace Pipeline.Aggregator.Http;

/// <summary>Settings of an <see cref="AggregatorServer"/>.</summary>
public sealed class AggregatorServerOptions
{
    /// <summary>The tenant of every request in single-tenant mode (Loki's <c>auth_enabled: false</c>).</summary>
    public const string SingleTenantId = "fake";

    /// <summary>Default largest accepted request body (compressed as sent): 4 MiB, like a typical Loki gateway.</summary>
    public const long DefaultMaxRequestBodyBytes = 4L * 1024 * 1024;

    /// <summary>Default largest decompressed push body: 64 MiB.</summary>
    public const long DefaultMaxDecompressedBodyBytes = 64L * 1024 * 1024;

    /// <summary>Default number of pushes processed at once; further pushes wait (their bodies stay in the socket).</summary>
    public static readonly int DefaultMaxConcurrentPushes = Math.Max(4, Environment.ProcessorCount * 2);

    /// <summary>Default of <see cref="MaxConcurrentQueriesPerTenant"/>: the number of processors, at least 2.</summary>
    public static readonly int DefaultMaxConcurrentQueriesPerTenant = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Default of <see cref="MaxConcurrentQueries"/>: twice the number of processors, at least 4.</summary>
    public static readonly int DefaultMaxConcurrentQueries = Math.Max(4, Environment.ProcessorCount * 2);

    /// <summary>Default of <see cref="MaxQueuedQueriesPerTenant"/> (Loki's <c>max_outstanding_per_tenant</c>).</summary>
    public const int DefaultMaxQueuedQueriesPerTenant = 2048;

    /// <summary>Address and port to listen on, e.g. <c>127.0.0.1:3100</c>; port 0 picks a free port. Default <c>127.0.0.1:3100</c>.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1:3100";

    /// <summary>Folder for the WAL, chunks and index. Required.</summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>
    /// Whether the tenant comes from <c>X-Scope-OrgID</c> (required, 401 "no org id" without it). When
    /// <see langword="false"/> (default, Loki's <c>auth_enabled: false</c>) every request is tenant <c>fake</c>,
    /// unless credentials map it to another tenant.
    /// </summary>
    public bool MultiTenant { get; set; }

    /// <summary>Bearer tokens and the tenant each one stands for. When this or <see cref="BasicAuthUsers"/> is non-empty, every API request needs credentials (401 without, 403 for another tenant's).</summary>
    public IDictionary<string, string> BearerTokens { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Basic-auth users (name → password and tenant).</summary>
    public IDictionary<string, BasicAuthUser> BasicAuthUsers { get; } = new Dictionary<string, BasicAuthUser>(StringComparer.Ordinal);

    /// <summary>Largest request body as sent (413 above). Default <see cref="DefaultMaxRequestBodyBytes"/>.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>Largest push body after decompression (413 above). Default <see cref="DefaultMaxDecompressedBodyBytes"/>.</summary>
    public long MaxDecompressedBodyBytes { get; set; } = DefaultMaxDecompressedBodyBytes;

    /// <summary>Pushes processed at once; more wait for a slot (they are not refused). Default twice the processors, at least 4.</summary>
    public int MaxConcurrentPushes { get; set; } = DefaultMaxConcurrentPushes;

    /// <summary>Queries of one tenant evaluated at once, each on a thread of its own; more wait in the tenant's queue. Default <see cref="DefaultMaxConcurrentQueriesPerTenant"/>.</summary>
    public int MaxConcurrentQueriesPerTenant { get; set; } = DefaultMaxConcurrentQueriesPerTenant;

    /// <summary>
    /// Queries evaluated at once across all tenants (each on a thread of its own); more wait in their tenant's queue and
    /// get a freed thread tenant by tenant in turn. Default <see cref="DefaultMaxConcurrentQueries"/>.
    /// </summary>
    public int MaxConcurrentQueries { get; set; } = DefaultMaxConcurrentQueries;

    /// <summary>Queries of one tenant that may wait for a slot; more are answered 429 "too many outstanding requests". Default <see cref="DefaultMaxQueuedQueriesPerTenant"/>.</summary>
    public int MaxQueuedQueriesPerTenant { get; set; } = DefaultMaxQueuedQueriesPerTenant;

    /// <summary>Default limits of every tenant (Loki's defaults).</summary>
    public DistributorLimits Limits { get; set; } = new();

    /// <summary>Limits of particular tenants, replacing <see cref="Limits"/> for them.</summary>
    public IDictionary<string, DistributorLimits> TenantLimits { get; } = new Dictionary<string, DistributorLimits>(StringComparer.Ordinal);

    /// <summary>Query engine limits and time-out.</summary>
    public LogQLEngineOptions Query { get; set; } = new();

    /// <summary>The ingester's settings; when <see langword="null"/> (default), Loki-like defaults in <see cref="DataDirectory"/>. When set, its own data folder is used.</summary>
    public IngesterOptions? Ingester { get; set; }

    /// <summary>Flush every chunk to chunk files when the server stops (default <see langword="true"/>); otherwise the WAL is replayed on the next start.</summary>
    public bool FlushOnShutdown { get; set; } = true;

    /// <summary>Wraps the store queries read (tests observe and pace reads through it).</summary>
    internal Func<ILogQueryStore, ILogQueryStore>? WrapQueryStore { get; set; }

    internal IPEndPoint ParseListenAddress()
    {
        if (!IPEndPoint.TryParse(ListenAddress, out var endpoint))
        {
            var colon = ListenAddress.LastIndexOf(':');
            if (colon > 0 && string.Equals(ListenAddress[..colon], "localhost", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(ListenAddress.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535)
            {
                return new IPEndPoint(IPAddress.Loopback, port);
            }

            throw new ArgumentException($"ListenAddress '{ListenAddress}' is not an address with a port, e.g. 127.0.0.1:3100 or 0.0.0.0:3100.", nameof(ListenAddress));
        }

        return endpoint;
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory) && Ingester is null)
        {
            throw new ArgumentException("DataDirectory is required: the folder for the WAL, chunks and index.", nameof(DataDirectory));
        }

        _ = ParseListenAddress();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBodyBytes, 1, nameof(MaxRequestBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDecompressedBodyBytes, 1, nameof(MaxDecompressedBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentPushes, 1, nameof(MaxConcurrentPushes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentQueriesPerTenant, 1, nameof(MaxConcurrentQueriesPerTenant));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedQueriesPerTenant, 0, nameof(MaxQueuedQueriesPerTenant));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentQueries, 1, nameof(MaxConcurrentQueries));
        ArgumentNullException.ThrowIfNull(Limits, nameof(Limits));
        Limits.Validate();
        foreach (var (tenant, limits) in TenantLimits)
        {
            ArgumentNullException.ThrowIfNull(limits, $"TenantLimits[{tenant}]");
            limits.Validate();
        }
    }
}

/// <summary>A basic-auth user of the aggregator.</summary>
/// <param name="Password">The password.</param>
/// <param name="Tenant">The tenant the user writes and reads.</param>
public sealed record BasicAuthUser(string Password, string Tenant);
