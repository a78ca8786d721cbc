using Pipeline.Delivery;
using Pipeline.Model;

namespace Pipeline.Loki.Push;

/// <summary>The body format a <see cref="LokiPushSink"/> sends.</summary>
public enum LokiPushFormat
{
    /// <summary>Snappy-compressed protobuf (<c>application/x-protobuf</c>), what Promtail sends.</summary>
    Protobuf,

    /// <summary>JSON (<c>application/json</c>), for endpoints that only take JSON; see <see cref="LokiPushSinkOptions.GzipJson"/>.</summary>
    Json,
}

/// <summary>TLS settings of a <see cref="LokiPushSink"/> (Promtail's <c>tls_config</c>).</summary>
public sealed class LokiTlsOptions
{
    /// <summary>A PEM file of CA certificates to trust instead of the system store.</summary>
    public string? CaFile { get; set; }

    /// <summary>A PEM client certificate for mutual TLS (needs <see cref="KeyFile"/>).</summary>
    public string? CertFile { get; set; }

    /// <summary>The PEM private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The server name to verify the certificate against, when it differs from the URL's host.</summary>
    public string? ServerName { get; set; }

    /// <summary>Accept any server certificate (testing only).</summary>
    public bool InsecureSkipVerify { get; set; }
}

/// <summary>
/// Settings of a <see cref="LokiPushSink"/>, named after Promtail's client configuration. Checked when the sink is
/// created; an invalid value raises an <see cref="ArgumentException"/> that names the setting, the value and what
/// would be accepted.
/// </summary>
public sealed class LokiPushSinkOptions
{
    /// <summary>Default <see cref="BatchSize"/>: 1 MiB (Promtail's <c>batchsize</c>).</summary>
    public const int DefaultBatchSize = 1024 * 1024;

    /// <summary>Default <see cref="MaxRequestSize"/>: 4 MiB, the body limit of a typical gateway in front of Loki.</summary>
    public const int DefaultMaxRequestSize = 4 * 1024 * 1024;

    /// <summary>Default <see cref="MaxErrorBodyLogged"/>: 1 KiB.</summary>
    public const int DefaultMaxErrorBodyLogged = 1024;

    /// <summary>Default <see cref="BatchWait"/>: 1 s (Promtail's <c>batchwait</c>).</summary>
    public static TimeSpan DefaultBatchWait { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Default <see cref="MinBackoff"/>: 500 ms (Promtail's <c>min_period</c>).</summary>
    public static TimeSpan DefaultMinBackoff { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Default <see cref="MaxBackoff"/>: 5 s (Promtail's <c>max_period</c> is 5 min). Retries go on until the
    /// endpoint answers, so the longest delay is also how late an endpoint that came back is noticed: capped at
    /// seconds, delivery resumes within seconds of a recovery, at the cost of one retried request per 5 s per client
    /// while it is down.
    /// </summary>
    public static TimeSpan DefaultMaxBackoff { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Default <see cref="Timeout"/>: 10 s (Promtail's <c>timeout</c>).</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The push URL, e.g. <c>http://loki:3100/loki/api/v1/push</c>. Required.</summary>
    public Uri? Url { get; set; }

    /// <summary>The tenant for entries without one (<see cref="LogEntry.Tenant"/>); none sends no <c>X-Scope-OrgID</c>.</summary>
    public string? TenantId { get; set; }

    /// <summary>How long a batch may wait for more entries before it is sent.</summary>
    public TimeSpan BatchWait { get; set; } = DefaultBatchWait;

    /// <summary>A batch is sent once its encoded (uncompressed) size reaches this many bytes.</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>No request's uncompressed protobuf exceeds this; a single entry larger than it is dropped (<c>entry_too_large</c>).</summary>
    public int MaxRequestSize { get; set; } = DefaultMaxRequestSize;

    /// <summary>The first retry delay; it doubles per retry up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan MinBackoff { get; set; } = DefaultMinBackoff;

    /// <summary>
    /// The longest backoff delay; retries at the cap are spread over its last quarter. A server's <c>Retry-After</c>
    /// is honoured up to 5 minutes (or up to this, when longer).
    /// </summary>
    public TimeSpan MaxBackoff { get; set; } = DefaultMaxBackoff;

    /// <summary>
    /// Retries after the first attempt before a batch of a retryable failure (429, 5xx, network) is dropped and
    /// counted (<c>dropped{reason="max_retries"}</c>); <see langword="null"/> (the default) retries forever: the sink
    /// stops reading while it retries, the sources stop with it, and the files on disk are the buffer, so nothing is
    /// lost however long the endpoint is down. (Promtail's default is 10, which drops batches in a long outage.)
    /// </summary>
    public int? MaxRetries { get; set; }

    /// <summary>The time allowed for one request, measured on the pipeline's clock.</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Labels added to every stream (an entry's own label of the same name wins).</summary>
    public IDictionary<string, string> ExternalLabels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The basic-auth user name.</summary>
    public string? BasicAuthUsername { get; set; }

    /// <summary>The basic-auth password.</summary>
    public string? BasicAuthPassword { get; set; }

    /// <summary>A bearer token sent as <c>Authorization: Bearer ...</c>.</summary>
    public string? BearerToken { get; set; }

    /// <summary>A file holding the bearer token; re-read when it changes (rotated service-account tokens).</summary>
    public string? BearerTokenFile { get; set; }

    /// <summary>Extra request headers.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>TLS settings.</summary>
    public LokiTlsOptions Tls { get; } = new();

    /// <summary>An HTTP proxy, or <see langword="null"/> for none.</summary>
    public Uri? ProxyUrl { get; set; }

    /// <summary>The body format.</summary>
    public LokiPushFormat Format { get; set; } = LokiPushFormat.Protobuf;

    /// <summary>With <see cref="LokiPushFormat.Json"/>, compress the body with gzip (<c>Content-Encoding: gzip</c>).</summary>
    public bool GzipJson { get; set; }

    /// <summary>The HTTP version requested (1.1 or 2.0); lower versions are allowed when the server offers less.</summary>
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version11;

    /// <summary>How many bytes of an error response body are logged.</summary>
    public int MaxErrorBodyLogged { get; set; } = DefaultMaxErrorBodyLogged;

    /// <summary>The HTTP, TLS, auth and retry settings as the delivery layer takes them.</summary>
    internal DeliveryHttpOptions ToDeliveryOptions() => new()
    {
        Timeout = Timeout,
        MaxErrorBody = MaxErrorBodyLogged,
        HttpVersion = HttpVersion,
        BasicAuthUsername = BasicAuthUsername,
        BasicAuthPassword = BasicAuthPassword,
        BearerToken = BearerToken,
        BearerTokenFile = BearerTokenFile,
        Headers = [.. Headers],
        CaFile = Tls.CaFile,
        CertFile = Tls.CertFile,
        KeyFile = Tls.KeyFile,
        ServerName = Tls.ServerName,
        InsecureSkipVerify = Tls.InsecureSkipVerify,
        ProxyUrl = ProxyUrl,
        Retry = new DeliveryRetryOptions { MinBackoff = MinBackoff, MaxBackoff = MaxBackoff, MaxRetries = MaxRetries, Jitter = true },
    };

    /// <summary>Checks every setting and returns the external labels as a set.</summary>
    internal LabelSet Validate()
    {
        if (Url is null)
        {
            throw new ArgumentException("Url is required: the Loki push URL, e.g. http://loki:3100/loki/api/v1/push.", nameof(Url));
        }

        if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Url '{Url}' must be an absolute http:// or https:// URL.", nameof(Url));
        }

        Positive(BatchWait, nameof(BatchWait));
        Positive(MinBackoff, nameof(MinBackoff));
        Positive(Timeout, nameof(Timeout));
        if (MaxBackoff < MinBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, $"MaxBackoff ({MaxBackoff}) must be at least MinBackoff ({MinBackoff}).");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be at least 1 byte; got {BatchSize}.");
        }

        if (MaxRequestSize < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequestSize), MaxRequestSize, $"MaxRequestSize must be at least 1024 bytes; got {MaxRequestSize}.");
        }

        if (MaxRetries is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, $"MaxRetries must be 0 or more (or null to retry forever); got {MaxRetries}.");
        }

        if (MaxErrorBodyLogged < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxErrorBodyLogged), MaxErrorBodyLogged, "MaxErrorBodyLogged must be 0 or more.");
        }

        if (HttpVersion != System.Net.HttpVersion.Version11 && HttpVersion != System.Net.HttpVersion.Version20)
        {
            throw new ArgumentException($"HttpVersion {HttpVersion} is not supported: use 1.1 or 2.0.", nameof(HttpVersion));
        }

        if (TenantId is not null && !Protocol.LokiTenant.IsValid(TenantId, out var tenantError))
        {
            throw new ArgumentException($"TenantId '{TenantId}' is invalid: {tenantError}.", nameof(TenantId));
        }

        var credentials = (BasicAuthUsername is not null || BasicAuthPassword is not null ? 1 : 0) + (BearerToken is not null ? 1 : 0) + (BearerTokenFile is not null ? 1 : 0);
        if (credentials > 1)
        {
            throw new ArgumentException("Set at most one of basic auth (BasicAuthUsername/BasicAuthPassword), BearerToken and BearerTokenFile.", nameof(BearerToken));
        }

        if (BasicAuthPassword is not null && string.IsNullOrEmpty(BasicAuthUsername))
        {
            throw new ArgumentException("BasicAuthPassword is set but BasicAuthUsername is empty.", nameof(BasicAuthUsername));
        }

        FileExists(BearerTokenFile, nameof(BearerTokenFile));
        FileExists(Tls.CaFile, "Tls.CaFile");
        FileExists(Tls.CertFile, "Tls.CertFile");
        FileExists(Tls.KeyFile, "Tls.KeyFile");
        if ((Tls.CertFile is null) != (Tls.KeyFile is null))
        {
            throw new ArgumentException("Tls.CertFile and Tls.KeyFile must be set together for a client certificate.", "Tls");
        }

        if (ProxyUrl is not null && !ProxyUrl.IsAbsoluteUri)
        {
            throw new ArgumentException($"ProxyUrl '{ProxyUrl}' must be an absolute URL.", nameof(ProxyUrl));
        }

        foreach (var header in Headers)
        {
            if (string.IsNullOrWhiteSpace(header.Key) || header.Key.AsSpan().IndexOfAny("\r\n:") >= 0 || header.Value.AsSpan().IndexOfAny("\r\n") >= 0)
            {
                throw new ArgumentException($"Header '{header.Key}' is invalid: names need no ':' and neither name nor value may hold a line break.", nameof(Headers));
            }
        }

        var labels = new List<Label>();
        foreach (var pair in ExternalLabels)
        {
            labels.Add(new Label(pair.Key, pair.Value));
        }

        if (!LabelSet.TryCreate(labels.ToArray(), out var set, out var error))
        {
            throw new ArgumentException($"ExternalLabels are invalid: {error}; names must match [a-zA-Z_][a-zA-Z0-9_]*.", nameof(ExternalLabels));
        }

        return set;
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive; got {value}.");
        }
    }

    private static void FileExists(string? path, string name)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new ArgumentException($"{name} '{path}' does not exist.", name);
        }
    }
}
