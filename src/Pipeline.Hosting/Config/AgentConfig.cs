using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Hosting.Config;

/// <summary>
/// An agent configuration in Promtail's YAML dialect: <c>server</c>, <c>positions</c>, <c>clients</c>,
/// <c>scrape_configs</c>, <c>limits_config</c>, <c>target_config</c>. Loading checks every key and value and
/// fails with a <see cref="ConfigException"/> that names the path, line and column.
/// </summary>
public sealed class AgentConfig
{
    private static readonly string[] s_topLevelKeys = ["server", "positions", "clients", "client", "scrape_configs", "limits_config", "target_config", "tracing", "global", "options"];

    /// <summary>The HTTP server of the agent.</summary>
    public ServerConfig Server { get; init; } = new();

    /// <summary>Where file positions are stored.</summary>
    public PositionsConfig Positions { get; init; } = new();

    /// <summary>The Loki endpoints to push to (every entry goes to each).</summary>
    public IReadOnlyList<ClientConfig> Clients { get; init; } = [];

    /// <summary>What to read and how to process it.</summary>
    public IReadOnlyList<ScrapeConfig> ScrapeConfigs { get; init; } = [];

    /// <summary>Read-rate and stream limits.</summary>
    public LimitsConfig Limits { get; init; } = new();

    /// <summary>How often targets are re-discovered.</summary>
    public TargetConfig Target { get; init; } = new();

    /// <summary>Loads a configuration file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="expandEnv">Expand <c>${VAR}</c> references first (Promtail's <c>-config.expand-env=true</c>).</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ConfigException">The file is missing, not YAML, or has an invalid key or value.</exception>
    public static AgentConfig Load(string path, bool expandEnv = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, string.Empty, 0, 0, $"cannot read the configuration file: {ex.Message}");
        }

        return Parse(text, path, expandEnv);
    }

    /// <summary>Parses configuration text.</summary>
    /// <param name="yaml">The YAML.</param>
    /// <param name="file">The file name used in error messages.</param>
    /// <param name="expandEnv">Expand <c>${VAR}</c> references first.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ConfigException">Invalid YAML, or an invalid key or value.</exception>
    public static AgentConfig Parse(string yaml, string? file = null, bool expandEnv = false)
    {
        var root = ReadRoot(expandEnv ? EnvExpander.Expand(yaml) : yaml, file);
        root.AllowOnly(s_topLevelKeys);
        Unsupported(root["tracing"], "tracing");
        Unsupported(root["options"], "options");
        Unsupported(root["global"], "global");
        if (!root["client"].IsMissing && !root["clients"].IsMissing)
        {
            throw root["client"].Error("give either 'client' or 'clients', not both");
        }

        var clients = root["clients"].IsMissing
            ? (root["client"].IsMissing ? [] : [ClientConfig.Read(root["client"])])
            : root["clients"].Items().Select(ClientConfig.Read).ToList();

        var scrapes = root["scrape_configs"].Items().Select(ScrapeConfig.Read).ToList();
        var duplicate = scrapes.GroupBy(s => s.JobName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw root["scrape_configs"].Error($"job_name '{duplicate.Key}' is used by more than one scrape config; job names must be unique");
        }

        return new AgentConfig
        {
            Server = ServerConfig.Read(root["server"]),
            Positions = PositionsConfig.Read(root["positions"]),
            Clients = clients,
            ScrapeConfigs = scrapes,
            Limits = LimitsConfig.Read(root["limits_config"]),
            Target = TargetConfig.Read(root["target_config"]),
        };
    }

    internal static ConfigNode ReadRoot(string yaml, string? file)
    {
        var root = ConfigNode.Parse(yaml, file);
        if (!root.IsMissing && !root.IsMapping)
        {
            throw root.Error("the configuration must be a mapping of sections (server, positions, clients, scrape_configs...)");
        }

        return root;
    }

    internal static void Unsupported(ConfigNode node, string what)
    {
        if (!node.IsMissing)
        {
            throw node.Error($"not supported yet: {what}");
        }
    }
}

/// <summary>The agent's HTTP server (<c>/ready</c>, <c>/metrics</c>, <c>/targets</c>).</summary>
public sealed class ServerConfig
{
    /// <summary>Promtail's default port.</summary>
    public const int DefaultPort = 9080;

    /// <summary>Whether the HTTP server is off.</summary>
    public bool Disable { get; init; }

    /// <summary>The address to listen on.</summary>
    public string ListenAddress { get; init; } = "0.0.0.0";

    /// <summary>The port to listen on (0: any free port).</summary>
    public int ListenPort { get; init; } = DefaultPort;

    /// <summary>The agent's own log level (debug, info, warn, error).</summary>
    public string LogLevel { get; init; } = "info";

    internal static ServerConfig Read(ConfigNode node)
    {
        node.AllowOnly("disable", "http_listen_address", "http_listen_port", "grpc_listen_address", "grpc_listen_port",
            "log_level", "log_format", "register_instrumentation", "http_server_read_timeout", "http_server_write_timeout",
            "http_server_idle_timeout", "graceful_shutdown_timeout", "health_check_target", "enable_runtime_reload");
        var level = node["log_level"].AsString("info")!;
        if (level is not ("debug" or "info" or "warn" or "error"))
        {
            throw node["log_level"].Error($"'{level}' is not a log level; accepted: debug, info, warn, error");
        }

        return new ServerConfig
        {
            Disable = node["disable"].AsBool(false),
            ListenAddress = node["http_listen_address"].AsString("0.0.0.0")!,
            ListenPort = node["http_listen_port"].AsInt32(DefaultPort, 0, 65535),
            LogLevel = level,
        };
    }
}

/// <summary>Where positions are stored and how often they are written.</summary>
public sealed class PositionsConfig
{
    /// <summary>The positions file.</summary>
    public string Filename { get; init; } = "/var/log/positions.yaml";

    /// <summary>How often positions are written.</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether a corrupt positions file is set aside (and reading starts over) instead of failing start-up.</summary>
    public bool IgnoreInvalidYaml { get; init; }

    internal static PositionsConfig Read(ConfigNode node)
    {
        node.AllowOnly("filename", "sync_period", "ignore_invalid_yaml");
        return new PositionsConfig
        {
            Filename = node["filename"].AsString("/var/log/positions.yaml")!,
            SyncPeriod = node["sync_period"].AsDuration(TimeSpan.FromSeconds(10), allowZero: false),
            IgnoreInvalidYaml = node["ignore_invalid_yaml"].AsBool(false),
        };
    }
}

/// <summary>One Loki endpoint.</summary>
public sealed class ClientConfig
{
    /// <summary>The push URL, e.g. <c>http://loki:3100/loki/api/v1/push</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>The tenant sent as <c>X-Scope-OrgID</c>, if any.</summary>
    public string? TenantId { get; init; }

    /// <summary>Longest wait before a partial batch is sent.</summary>
    public TimeSpan BatchWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Batch size in bytes of lines at which a batch is sent.</summary>
    public long BatchSize { get; init; } = 1024 * 1024;

    /// <summary>Request time-out.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Retry schedule.</summary>
    public BackoffConfig Backoff { get; init; } = new();

    /// <summary>Labels added to every stream.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExternalLabels { get; init; } = [];

    /// <summary>Extra HTTP headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>Basic auth user, if any.</summary>
    public string? BasicAuthUsername { get; init; }

    /// <summary>Basic auth password, if any.</summary>
    public string? BasicAuthPassword { get; init; }

    /// <summary>File holding the basic auth password, if any.</summary>
    public string? BasicAuthPasswordFile { get; init; }

    /// <summary>Bearer token, if any.</summary>
    public string? BearerToken { get; init; }

    /// <summary>File holding the bearer token (re-read when it changes), if any.</summary>
    public string? BearerTokenFile { get; init; }

    /// <summary>HTTP proxy, if any.</summary>
    public Uri? ProxyUrl { get; init; }

    /// <summary>TLS settings.</summary>
    public TlsConfig Tls { get; init; } = new();

    /// <summary>Whether batches rejected with 429 are dropped instead of retried.</summary>
    public bool DropRateLimitedBatches { get; init; }

    internal static ClientConfig Read(ConfigNode node)
    {
        node.AllowOnly("url", "tenant_id", "batchwait", "batchsize", "timeout", "backoff_config", "external_labels", "headers",
            "basic_auth", "bearer_token", "bearer_token_file", "proxy_url", "tls_config", "drop_rate_limited_batches");
        var basic = node["basic_auth"].AllowOnly("username", "password", "password_file");
        if (!node["bearer_token"].IsMissing && !node["bearer_token_file"].IsMissing)
        {
            throw node["bearer_token_file"].Error("give either bearer_token or bearer_token_file, not both");
        }

        if (!basic.IsMissing && (!node["bearer_token"].IsMissing || !node["bearer_token_file"].IsMissing))
        {
            throw node["basic_auth"].Error("give either basic_auth or a bearer token, not both");
        }

        var labels = node["external_labels"].AsStringMap();
        foreach (var (name, _) in labels)
        {
            if (!Pipeline.Model.Label.IsValidName(name))
            {
                throw node["external_labels"][name].Error($"'{name}' is not a valid label name; accepted: [a-zA-Z_][a-zA-Z0-9_]*");
            }
        }

        return new ClientConfig
        {
            Url = ReadUrl(node["url"], required: true)!,
            TenantId = node["tenant_id"].AsString(),
            BatchWait = node["batchwait"].AsDuration(TimeSpan.FromSeconds(1), allowZero: false),
            BatchSize = node["batchsize"].AsByteSize(1024 * 1024) is var size && size > 0 ? size : throw node["batchsize"].Error("must be positive"),
            Timeout = node["timeout"].AsDuration(TimeSpan.FromSeconds(10), allowZero: false),
            Backoff = BackoffConfig.Read(node["backoff_config"]),
            ExternalLabels = labels,
            Headers = node["headers"].AsStringMap(),
            BasicAuthUsername = basic["username"].AsString(),
            BasicAuthPassword = basic["password"].AsString(),
            BasicAuthPasswordFile = basic["password_file"].AsString(),
            BearerToken = node["bearer_token"].AsString(),
            BearerTokenFile = node["bearer_token_file"].AsString(),
            ProxyUrl = ReadUrl(node["proxy_url"], required: false),
            Tls = TlsConfig.Read(node["tls_config"]),
            DropRateLimitedBatches = node["drop_rate_limited_batches"].AsBool(false),
        };
    }

    private static Uri? ReadUrl(ConfigNode node, bool required)
    {
        var text = required ? node.RequireString() : node.AsString();
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw node.Error($"'{text}' is not an http or https URL");
        }

        return uri;
    }
}

/// <summary>The retry schedule of a client (Promtail's <c>backoff_config</c>).</summary>
public sealed class BackoffConfig
{
    /// <summary>First wait.</summary>
    public TimeSpan MinPeriod { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait: 5 s unless given (Promtail's 5 min would delay delivery that long after a recovery).</summary>
    public TimeSpan MaxPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Retries before a batch is dropped (counted as <c>dropped{reason="max_retries"}</c>), when <c>max_retries</c>
    /// is given; <see langword="null"/> when it is not, and 0 as in Promtail, both retry forever, so nothing is
    /// dropped while backpressure holds the sources.
    /// </summary>
    public int? MaxRetries { get; init; }

    internal static BackoffConfig Read(ConfigNode node)
    {
        node.AllowOnly("min_period", "max_period", "max_retries");
        var config = new BackoffConfig
        {
            MinPeriod = node["min_period"].AsDuration(TimeSpan.FromMilliseconds(500), allowZero: false),
            MaxPeriod = node["max_period"].AsDuration(TimeSpan.FromSeconds(5), allowZero: false),
            MaxRetries = node["max_retries"].IsMissing ? null : node["max_retries"].AsInt32(0, 0),
        };
        if (config.MaxPeriod < config.MinPeriod)
        {
            throw node["max_period"].Error($"max_period ({config.MaxPeriod}) must not be shorter than min_period ({config.MinPeriod})");
        }

        return config;
    }
}

/// <summary>TLS settings of a client.</summary>
public sealed class TlsConfig
{
    /// <summary>CA bundle to trust.</summary>
    public string? CaFile { get; init; }

    /// <summary>Client certificate.</summary>
    public string? CertFile { get; init; }

    /// <summary>Client certificate key.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Expected server name.</summary>
    public string? ServerName { get; init; }

    /// <summary>Skip server certificate checks.</summary>
    public bool InsecureSkipVerify { get; init; }

    internal static TlsConfig Read(ConfigNode node)
    {
        node.AllowOnly("ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify");
        var config = new TlsConfig
        {
            CaFile = node["ca_file"].AsString(),
            CertFile = node["cert_file"].AsString(),
            KeyFile = node["key_file"].AsString(),
            ServerName = node["server_name"].AsString(),
            InsecureSkipVerify = node["insecure_skip_verify"].AsBool(false),
        };
        if ((config.CertFile is null) != (config.KeyFile is null))
        {
            throw node.Error("cert_file and key_file go together; give both or neither");
        }

        return config;
    }
}

/// <summary>One scrape config: a job reading files and the stages that process them.</summary>
public sealed class ScrapeConfig
{
    /// <summary>The job name.</summary>
    public required string JobName { get; init; }

    /// <summary>The file groups to read, each with its labels (including <c>__path__</c>).</summary>
    public IReadOnlyList<StaticConfig> StaticConfigs { get; init; } = [];

    /// <summary>Promtail's <c>loki_push_api</c>: apps push to the agent, which relabels and forwards; <see langword="null"/> for a file job.</summary>
    public LokiPushApiConfig? LokiPushApi { get; init; }

    /// <summary>The <c>pipeline_stages</c> list, each a one-key mapping (<c>- cri: {}</c>), built by a <see cref="StageRegistry"/>.</summary>
    public IReadOnlyList<ConfigNode> PipelineStages { get; init; } = [];

    /// <summary>The <c>relabel_configs</c> list, applied to each target's labels.</summary>
    public IReadOnlyList<ConfigNode> RelabelConfigs { get; init; } = [];

    /// <summary>Whether files with no stored position are read from their end instead of their beginning.</summary>
    public bool TailFromEnd { get; init; }

    /// <summary>The node, for error messages.</summary>
    public required ConfigNode Node { get; init; }

    internal static ScrapeConfig Read(ConfigNode node)
    {
        var discovery = new[]
        {
            "kubernetes_sd_configs", "docker_sd_configs", "consul_sd_configs", "consulagent_sd_configs", "file_sd_configs",
            "dns_sd_configs", "journal", "syslog", "gcplog", "windows_events", "kafka", "gelf",
            "cloudflare", "heroku_drain", "azure_event_hubs",
        };
        node.AllowOnly([
            "job_name", "pipeline_stages", "static_configs", "relabel_configs", "encoding", "decompression", "tail_from_end",
            "loki_push_api", .. discovery]);
        foreach (var key in discovery)
        {
            if (!node[key].IsMissing)
            {
                var hint = key == "kubernetes_sd_configs"
                    ? " (read the kubelet's files instead: static_configs with __path__: /var/log/pods/*/*/*.log; namespace, pod and container come from the path)"
                    : string.Empty;
                throw node[key].Error($"not supported yet: {key}{hint}");
            }
        }

        AgentConfig.Unsupported(node["decompression"], "decompression");
        var encoding = node["encoding"].AsString();
        if (encoding is not null && !encoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw node["encoding"].Error($"not supported yet: encoding '{encoding}' (files are read as UTF-8)");
        }

        var stages = node["pipeline_stages"].Items();
        foreach (var stage in stages)
        {
            if (!stage.IsMapping || stage.Entries().Count != 1)
            {
                throw stage.Error("each pipeline stage is a mapping with exactly one key naming the stage, e.g. '- cri: {}'");
            }
        }

        var push = node["loki_push_api"].IsMissing ? null : LokiPushApiConfig.Read(node["loki_push_api"]);
        if (push is not null && !node["static_configs"].IsMissing)
        {
            throw node["static_configs"].Error("a job either reads files (static_configs) or receives pushes (loki_push_api), not both");
        }

        return new ScrapeConfig
        {
            JobName = node["job_name"].RequireString(),
            StaticConfigs = node["static_configs"].Items().Select(StaticConfig.Read).ToList(),
            LokiPushApi = push,
            PipelineStages = stages,
            RelabelConfigs = node["relabel_configs"].Items(),
            TailFromEnd = node["tail_from_end"].AsBool(false),
            Node = node,
        };
    }
}

/// <summary>
/// Promtail's <c>loki_push_api</c> scrape config: a Loki push endpoint of the agent's own (<c>server</c>), labels added to
/// every pushed stream, and whether the client's timestamps are kept.
/// </summary>
public sealed class LokiPushApiConfig
{
    /// <summary>The push server's address.</summary>
    public string ListenAddress { get; init; } = "0.0.0.0";

    /// <summary>The push server's port (0: any free port).</summary>
    public int ListenPort { get; init; }

    /// <summary>Labels added to every stream pushed (a stream's own label of the same name wins).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>Whether entries keep the client's timestamp; Promtail's default <see langword="false"/> stamps them with the time of receipt.</summary>
    public bool UseIncomingTimestamp { get; init; }

    internal static LokiPushApiConfig Read(ConfigNode node)
    {
        node.AllowOnly("server", "labels", "use_incoming_timestamp");
        var server = node["server"];
        if (server.IsMissing || server["http_listen_port"].IsMissing)
        {
            throw (server.IsMissing ? node : server).Error("loki_push_api needs server.http_listen_port: the port apps push to, e.g. 3500");
        }

        server.AllowOnly("http_listen_address", "http_listen_port", "grpc_listen_address", "grpc_listen_port", "register_instrumentation",
            "http_server_read_timeout", "http_server_write_timeout", "http_server_idle_timeout", "graceful_shutdown_timeout", "log_level");
        var address = server["http_listen_address"].AsString("0.0.0.0")!;
        if (!System.Net.IPAddress.TryParse(address, out _))
        {
            throw server["http_listen_address"].Error($"'{address}' is not an IP address, e.g. 0.0.0.0 or 127.0.0.1");
        }

        var labels = node["labels"].AsStringMap();
        foreach (var (name, _) in labels)
        {
            if (!Pipeline.Model.Label.IsValidName(name))
            {
                throw node["labels"][name].Error($"'{name}' is not a valid label name; accepted: [a-zA-Z_][a-zA-Z0-9_]*");
            }
        }

        return new LokiPushApiConfig
        {
            ListenAddress = address,
            ListenPort = server["http_listen_port"].AsInt32(0, 0, 65535),
            Labels = labels,
            UseIncomingTimestamp = node["use_incoming_timestamp"].AsBool(false),
        };
    }
}

/// <summary>A group of files and the labels their entries carry.</summary>
public sealed class StaticConfig
{
    /// <summary>Targets (kept for compatibility; Promtail expects <c>localhost</c>).</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>Labels, including <c>__path__</c> (the glob) and optionally <c>__path_exclude__</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>The glob of files to read (<c>__path__</c>).</summary>
    public string? PathGlob => Labels.FirstOrDefault(l => l.Key == "__path__").Value;

    /// <summary>The glob of files to leave out (<c>__path_exclude__</c>).</summary>
    public string? PathExcludeGlob => Labels.FirstOrDefault(l => l.Key == "__path_exclude__").Value;

    internal static StaticConfig Read(ConfigNode node)
    {
        node.AllowOnly("targets", "labels");
        var labels = node["labels"].AsStringMap();
        foreach (var (name, _) in labels)
        {
            if (!Pipeline.Model.Label.IsValidName(name))
            {
                throw node["labels"][name].Error($"'{name}' is not a valid label name; accepted: [a-zA-Z_][a-zA-Z0-9_]*");
            }
        }

        if (!labels.Any(l => l.Key == "__path__"))
        {
            throw node["labels"].Error("__path__ is required: the glob of files to read, e.g. /var/log/pods/*/*/*.log");
        }

        return new StaticConfig { Targets = node["targets"].AsStringList(), Labels = labels };
    }
}

/// <summary>Read-rate and stream limits of the agent.</summary>
public sealed class LimitsConfig
{
    /// <summary>Whether the read rate limit is on.</summary>
    public bool ReadlineRateEnabled { get; init; }

    /// <summary>Lines per second read across all files.</summary>
    public double ReadlineRate { get; init; } = 10_000;

    /// <summary>Burst of lines above the rate.</summary>
    public int ReadlineBurst { get; init; } = 10_000;

    /// <summary>Whether lines over the rate are dropped (true) or reading waits (false).</summary>
    public bool ReadlineRateDrop { get; init; } = true;

    /// <summary>Most active streams (0: unlimited).</summary>
    public int MaxStreams { get; init; }

    /// <summary>Longest line in bytes (0: the reader's default, 256 KiB).</summary>
    public long MaxLineSize { get; init; }

    /// <summary>Whether longer lines are truncated (true) or dropped (false).</summary>
    public bool MaxLineSizeTruncate { get; init; }

    internal static LimitsConfig Read(ConfigNode node)
    {
        node.AllowOnly("readline_rate_enabled", "readline_rate", "readline_burst", "readline_rate_drop", "max_streams", "max_line_size", "max_line_size_truncate");
        return new LimitsConfig
        {
            ReadlineRateEnabled = node["readline_rate_enabled"].AsBool(false),
            ReadlineRate = node["readline_rate"].AsDouble(10_000) is var rate && rate > 0 ? rate : throw node["readline_rate"].Error("must be positive"),
            ReadlineBurst = node["readline_burst"].AsInt32(10_000, 1),
            ReadlineRateDrop = node["readline_rate_drop"].AsBool(true),
            MaxStreams = node["max_streams"].AsInt32(0, 0),
            MaxLineSize = node["max_line_size"].AsByteSize(0),
            MaxLineSizeTruncate = node["max_line_size_truncate"].AsBool(false),
        };
    }
}

/// <summary>How often file targets are re-discovered.</summary>
public sealed class TargetConfig
{
    /// <summary>The re-scan period.</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(10);

    internal static TargetConfig Read(ConfigNode node)
    {
        node.AllowOnly("sync_period", "stdin");
        AgentConfig.Unsupported(node["stdin"], "stdin");
        return new TargetConfig { SyncPeriod = node["sync_period"].AsDuration(TimeSpan.FromSeconds(10), allowZero: false) };
    }
}
