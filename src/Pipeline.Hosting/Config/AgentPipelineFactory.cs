using Pipeline.Loki.Receiver;
using Pipeline.Runtime;
using Pipeline.Sources.Files;

namespace Pipeline.Hosting.Config;

/// <summary>
/// Turns an <see cref="AgentConfig"/> into a pipeline: one source per scrape config — a file source (its
/// <c>static_configs</c> globs and labels) or a Loki push receiver (<c>loki_push_api</c>) — with its
/// <c>relabel_configs</c> and <c>pipeline_stages</c> as the source's own stages, all positions in the one positions
/// file, and every client as a sink.
/// </summary>
public sealed class AgentPipelineFactory
{
    private readonly AgentConfig _config;
    private readonly StageRegistry _stages;

    /// <summary>Creates the factory.</summary>
    /// <param name="config">The agent configuration.</param>
    /// <param name="stages">The stage names <c>pipeline_stages</c> may use; <see cref="StageRegistry.CreateDefault"/> when <see langword="null"/>.</param>
    public AgentPipelineFactory(AgentConfig config, StageRegistry? stages = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _stages = stages ?? StageRegistry.CreateDefault();
    }

    /// <summary>The file sources built by the last <see cref="Build"/>, by job name (for the <c>/targets</c> page).</summary>
    public IReadOnlyDictionary<string, FileTailSource> Sources { get; private set; } = new Dictionary<string, FileTailSource>();

    /// <summary>The push receivers (<c>loki_push_api</c> jobs) built by the last <see cref="Build"/>, by job name.</summary>
    public IReadOnlyDictionary<string, LokiPushReceiver> PushReceivers { get; private set; } = new Dictionary<string, LokiPushReceiver>();

    /// <summary>Builds the pipeline.</summary>
    /// <param name="options">Pipeline options (clock, logging, meter).</param>
    /// <param name="sinks">Builds the sink of each client; with <paramref name="dryRun"/> it is not called.</param>
    /// <param name="dryRun">An <see cref="ILogSink"/> that replaces every client (Promtail's <c>--dry-run</c>), or <see langword="null"/>.</param>
    /// <returns>The pipeline, not started.</returns>
    /// <exception cref="ConfigException">A stage or setting is invalid, or there is nothing to push to.</exception>
    public LogPipeline Build(PipelineOptions options, Func<ClientConfig, ILogSink> sinks, ILogSink? dryRun = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sinks);
        if (_config.ScrapeConfigs.Count == 0)
        {
            throw new ConfigException(null, "scrape_configs", 0, 0, "at least one scrape config is needed: nothing would be read");
        }

        if (dryRun is null && _config.Clients.Count == 0)
        {
            throw new ConfigException(null, "clients", 0, 0, "at least one client is needed: nowhere to push (or run with --dry-run)");
        }

        var context = new StageBuildContext { Registry = _stages, TimeProvider = options.TimeProvider, LoggerFactory = options.LoggerFactory };
        var builder = LogPipeline.Create(options);
        var sources = new Dictionary<string, FileTailSource>(StringComparer.Ordinal);
        var receivers = new Dictionary<string, LokiPushReceiver>(StringComparer.Ordinal);
        foreach (var scrape in _config.ScrapeConfigs)
        {
            ILogSource source;
            if (scrape.LokiPushApi is { } push)
            {
                var receiver = new LokiPushReceiver(ReceiverOptions(push));
                receivers[scrape.JobName] = receiver;
                source = receiver;
            }
            else
            {
                var files = new FileTailSource(TailOptions(scrape));
                sources[scrape.JobName] = files;
                source = files;
            }

            builder.From(source, chain =>
            {
                if (scrape.RelabelConfigs.Count > 0)
                {
                    var relabel = scrape.Node["relabel_configs"];
                    switch (_stages.Build("relabel_configs", relabel, context))
                    {
                        case ILogStage stage:
                            chain.Then(stage, $"{scrape.JobName}/relabel_configs");
                            break;
                        default:
                            throw relabel.Error("relabel_configs must build a function stage");
                    }
                }

                _stages.AddTo(chain, scrape.PipelineStages, context, scrape.JobName);
            }, scrape.JobName);
        }

        if (dryRun is not null)
        {
            builder.To(dryRun, "dry-run");
        }
        else
        {
            for (var i = 0; i < _config.Clients.Count; i++)
            {
                builder.To(sinks(_config.Clients[i]), $"client[{i}]");
            }
        }

        Sources = sources;
        PushReceivers = receivers;
        return builder.Build();
    }

    private static LokiPushReceiverOptions ReceiverOptions(LokiPushApiConfig push)
    {
        var options = new LokiPushReceiverOptions
        {
            ListenAddress = $"{push.ListenAddress}:{push.ListenPort}",
            UseIncomingTimestamp = push.UseIncomingTimestamp,
        };
        foreach (var (name, value) in push.Labels)
        {
            options.Labels[name] = value;
        }

        return options;
    }

    private FileTailOptions TailOptions(ScrapeConfig scrape)
    {
        var options = new FileTailOptions
        {
            PositionsPath = _config.Positions.Filename,
            SyncPeriod = _config.Positions.SyncPeriod,
            ScanInterval = _config.Target.SyncPeriod,
            TailFromEnd = scrape.TailFromEnd,
            CorruptPositionsStart = FileStartPolicy.Beginning,
        };
        if (_config.Limits.MaxLineSize > 0)
        {
            options.MaxLineBytes = (int)Math.Min(_config.Limits.MaxLineSize, int.MaxValue);
            options.OversizedLines = _config.Limits.MaxLineSizeTruncate ? OversizedLinePolicy.Truncate : OversizedLinePolicy.Drop;
        }

        if (scrape.StaticConfigs.Count == 0)
        {
            throw scrape.Node.Error("static_configs is required: give at least one group with __path__ (the files to read)");
        }

        // Each static group's labels go with its files; groups of one job share one source, so their labels must agree.
        var first = scrape.StaticConfigs[0];
        foreach (var group in scrape.StaticConfigs)
        {
            options.Include.Add(group.PathGlob!);
            if (group.PathExcludeGlob is { } exclude)
            {
                options.Exclude.Add(exclude);
            }

            var publicLabels = group.Labels.Where(l => !l.Key.StartsWith("__", StringComparison.Ordinal));
            var firstLabels = first.Labels.Where(l => !l.Key.StartsWith("__", StringComparison.Ordinal));
            if (!publicLabels.OrderBy(l => l.Key, StringComparer.Ordinal).SequenceEqual(firstLabels.OrderBy(l => l.Key, StringComparer.Ordinal)))
            {
                throw scrape.Node["static_configs"].Error("not supported yet: different labels in static groups of one job; give each label set its own scrape config");
            }
        }

        foreach (var (name, value) in first.Labels)
        {
            if (!name.StartsWith("__", StringComparison.Ordinal))
            {
                options.Labels[name] = value;
            }
        }

        return options;
    }
}
