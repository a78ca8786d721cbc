using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Flow;
using Pipeline.Stages.Labels;
using Pipeline.Stages.Parsing;

namespace Pipeline.Hosting.Config;

/// <summary>
/// The YAML front end of the built-in stages: each reads Promtail's keys for its stage into the stage's options
/// object and builds the stage. An invalid value is reported at its own YAML path.
/// </summary>
internal static class BuiltInStages
{
    public static void RegisterAll(StageRegistry registry)
    {
        registry.Register("cri", (n, _) => Build(n, "cri", () => new CriParser(new CriParserOptions
        {
            MaxPartialLines = n.AllowOnly("max_partial_lines", "max_partial_line_size", "max_partial_line_size_truncate")["max_partial_lines"].AsInt32(CriParserOptions.DefaultMaxPartialLines, 1),
            MaxPartialLineSize = n["max_partial_line_size"].AsByteSize(CriParserOptions.DefaultMaxPartialLineSize),
            MaxPartialLineSizeTruncate = n["max_partial_line_size_truncate"].AsBool(false),
        })));
        registry.Register("docker", (n, _) => Build(n, "docker", () => new DockerParser(new DockerParserOptions
        {
            MaxPartialLines = n.AllowOnly("max_partial_lines", "max_partial_line_size", "max_partial_line_size_truncate")["max_partial_lines"].AsInt32(CriParserOptions.DefaultMaxPartialLines, 1),
            MaxPartialLineSize = n["max_partial_line_size"].AsByteSize(CriParserOptions.DefaultMaxPartialLineSize),
            MaxPartialLineSizeTruncate = n["max_partial_line_size_truncate"].AsBool(false),
        })));
        registry.Register("regex", (n, _) => Build(n, "regex", () => new RegexStage(new RegexStageOptions
        {
            Expression = n.AllowOnly("expression", "source")["expression"].AsString(),
            Source = n["source"].AsString(),
        })));
        registry.Register("json", (n, _) => Build(n, "json", () =>
        {
            var options = new JsonStageOptions
            {
                Source = n.AllowOnly("expressions", "source", "drop_malformed")["source"].AsString(),
                DropMalformed = n["drop_malformed"].AsBool(false),
            };
            foreach (var (name, value) in n["expressions"].AsStringMap())
            {
                options.Expressions[name] = NullIfEmpty(value);
            }

            return new JsonStage(options);
        }));
        registry.Register("logfmt", (n, _) => Build(n, "logfmt", () =>
        {
            var options = new LogfmtStageOptions { Source = n.AllowOnly("mapping", "source")["source"].AsString() };
            foreach (var (name, value) in n["mapping"].AsStringMap())
            {
                options.Mapping[name] = NullIfEmpty(value);
            }

            return new LogfmtStage(options);
        }));
        registry.Register("pattern", (n, _) => Build(n, "pattern", () => new PatternStage(new PatternStageOptions
        {
            Pattern = n.AllowOnly("pattern", "source")["pattern"].AsString(),
            Source = n["source"].AsString(),
        })));
        registry.Register("multiline", (n, _) => BuildTask(n, "multiline", () => new MultilineStage(new MultilineStageOptions
        {
            Firstline = n.AllowOnly("firstline", "max_wait_time", "max_lines")["firstline"].AsString(),
            MaxWaitTime = n["max_wait_time"].IsMissing ? null : n["max_wait_time"].AsDuration(TimeSpan.Zero, allowZero: false),
            MaxLines = n["max_lines"].IsMissing ? null : n["max_lines"].AsInt32(0, 1),
        })));
        registry.Register("replace", (n, _) => Build(n, "replace", () => new ReplaceStage(new ReplaceStageOptions
        {
            Expression = n.AllowOnly("expression", "source", "replace")["expression"].AsString(),
            Source = n["source"].AsString(),
            Replace = n["replace"].AsString(),
        })));
        registry.Register("template", (n, _) => Build(n, "template", () => new TemplateStage(new TemplateStageOptions
        {
            Source = n.AllowOnly("source", "template")["source"].AsString(),
            Template = n["template"].AsString(),
        })));
        registry.Register("output", (n, _) => Build(n, "output", () => new OutputStage(new OutputStageOptions
        {
            Source = n.AllowOnly("source")["source"].AsString(),
        })));
        registry.Register("timestamp", (n, _) => Build(n, "timestamp", () => new TimestampStage(new TimestampStageOptions
        {
            Source = n.AllowOnly("source", "format", "fallback_formats", "location", "action_on_failure")["source"].AsString(),
            Format = n["format"].AsString(),
            FallbackFormats = [.. n["fallback_formats"].AsStringList()],
            Location = n["location"].AsString(),
            ActionOnFailure = n["action_on_failure"].AsString(),
        })));
        registry.Register("decolorize", (n, _) => Build(n, "decolorize", () =>
        {
            n.AllowOnly();
            return new DecolorizeStage();
        }));
        registry.Register("labels", (n, _) => Build(n, "labels", () => new LabelsStage(new LabelsStageOptions { Values = Map(n) })));
        registry.Register("static_labels", (n, _) => Build(n, "static_labels", () => new StaticLabelsStage(new StaticLabelsStageOptions { Values = Map(n) })));
        registry.Register("structured_metadata", (n, _) => Build(n, "structured_metadata", () => new StructuredMetadataStage(new StructuredMetadataStageOptions { Values = Map(n) })));
        registry.Register("labeldrop", (n, _) => Build(n, "labeldrop", () => new LabelDropStage(new LabelDropStageOptions { Values = [.. n.AsStringList()] })));
        registry.Register("labelallow", (n, _) => Build(n, "labelallow", () => new LabelAllowStage(new LabelAllowStageOptions { Values = [.. n.AsStringList()] })));
        registry.Register("tenant", (n, _) => Build(n, "tenant", () => new TenantStage(new TenantStageOptions
        {
            Source = n.AllowOnly("source", "label", "value")["source"].AsString(),
            Label = n["label"].AsString(),
            Value = n["value"].AsString(),
        })));
        registry.Register("drop", (n, _) => Build(n, "drop", () => new DropStage(new DropStageOptions
        {
            Source = n.AllowOnly("source", "value", "expression", "older_than", "longer_than", "drop_counter_reason", "separator")["source"].AsString(),
            Value = n["value"].AsString(),
            Expression = n["expression"].AsString(),
            OlderThan = n["older_than"].IsMissing ? null : n["older_than"].AsDuration(TimeSpan.Zero, allowZero: false),
            LongerThan = n["longer_than"].IsMissing ? null : n["longer_than"].AsByteSize(0),
            DropCounterReason = n["drop_counter_reason"].AsString(),
        })));
        registry.Register("limit", (n, _) => BuildTask(n, "limit", () => new LimitStage(new LimitStageOptions
        {
            Rate = n.AllowOnly("rate", "burst", "drop", "by_label_name", "max_distinct_labels")["rate"].AsDouble(0),
            Burst = n["burst"].AsInt32(0),
            Drop = n["drop"].AsBool(false),
            ByLabelName = n["by_label_name"].AsString(),
            MaxDistinctLabels = n["max_distinct_labels"].AsInt32(LimitStageOptions.DefaultMaxDistinctLabels, 1),
        })));
        registry.Register("sampling", (n, _) => Build(n, "sampling", () => new SamplingStage(new SamplingStageOptions
        {
            Rate = n.AllowOnly("rate", "drop_counter_reason")["rate"].AsDouble(0),
            DropCounterReason = n["drop_counter_reason"].AsString(),
        })));
        registry.Register("match", (n, c) => Build(n, "match", () =>
        {
            n.AllowOnly("selector", "action", "drop_counter_reason", "pipeline_name", "stages");
            var options = new MatchStageOptions
            {
                Selector = n["selector"].AsString(),
                Action = n["action"].AsString(),
                DropCounterReason = n["drop_counter_reason"].AsString(),
                PipelineName = n["pipeline_name"].AsString(),
            };
            foreach (var item in n["stages"].Items())
            {
                var (name, body) = StageRegistry.Single(item);
                options.Stages.Add(c.Registry.Build(name, body, c) as ILogStage
                    ?? throw body.Error($"'{name}' cannot be nested in match: it waits for time or input (a task stage); put it in the main pipeline_stages"));
            }

            return new MatchStage(options);
        }));
        registry.Register("metrics", (n, c) => Build(n, "metrics", () =>
        {
            var options = new MetricsStageOptions();
            foreach (var (name, body) in n.Entries())
            {
                body.AllowOnly("type", "description", "prefix", "source", "max_idle_duration", "config");
                var config = body["config"].AllowOnly("value", "action", "match_all", "count_entry_bytes", "buckets");
                var definition = new MetricDefinition
                {
                    Type = body["type"].AsString(),
                    Description = body["description"].AsString(),
                    Prefix = body["prefix"].AsString(c.MetricsPrefix),
                    Source = body["source"].AsString(),
                    MaxIdleDuration = body["max_idle_duration"].IsMissing ? null : body["max_idle_duration"].AsDuration(TimeSpan.Zero, allowZero: false),
                    Value = config["value"].AsString(),
                    Action = config["action"].AsString(),
                    MatchAll = config["match_all"].AsBool(false),
                    CountEntryBytes = config["count_entry_bytes"].AsBool(false),
                };
                foreach (var bucket in config["buckets"].Items())
                {
                    definition.Buckets.Add(bucket.AsDouble(0));
                }

                options.Metrics[name] = definition;
            }

            return new MetricsStage(options);
        }));

        // Scrape-level relabel_configs: a list of Prometheus relabel rules over each entry's labels.
        registry.Register("relabel_configs", (n, _) => Build(n, "relabel_configs", () =>
        {
            var options = new RelabelStageOptions();
            foreach (var rule in n.Items())
            {
                rule.AllowOnly("source_labels", "separator", "regex", "target_label", "replacement", "modulus", "action");
                options.Configs.Add(new RelabelRule
                {
                    SourceLabels = rule["source_labels"].IsMissing ? null : [.. rule["source_labels"].AsStringList()],
                    Separator = rule["separator"].AsString(),
                    Regex = rule["regex"].AsString(),
                    TargetLabel = rule["target_label"].AsString(),
                    Replacement = rule["replacement"].AsString(),
                    Modulus = (ulong)rule["modulus"].AsInt64(0, 0),
                    Action = rule["action"].AsString(),
                });
            }

            return new RelabelStage(options);
        }));
    }

    private static Dictionary<string, string?> Map(ConfigNode node)
    {
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in node.Entries())
        {
            map[name] = value.IsMissing ? null : value.AsString();
        }

        return map;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static ILogStage Build(ConfigNode node, string stage, Func<ILogStage> create) => Translate(node, stage, create);

    private static ITaskStage BuildTask(ConfigNode node, string stage, Func<ITaskStage> create) => Translate(node, stage, create);

    /// <summary>Reports a stage's own validation error at the YAML path of the offending field.</summary>
    private static T Translate<T>(ConfigNode node, string stage, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (StageOptionsException ex)
        {
            var prefix = $"{ex.Stage}.{ex.Field}: ";
            var message = ex.Message.StartsWith(prefix, StringComparison.Ordinal) ? ex.Message[prefix.Length..] : ex.Message;
            var at = ex.Field is { Length: > 0 } field && node.IsMapping && !node[field].IsMissing ? node[field] : node;
            throw at.Error(message);
        }
        catch (ArgumentException ex)
        {
            throw node.Error($"invalid {stage} stage: {ex.Message}");
        }
    }
}
