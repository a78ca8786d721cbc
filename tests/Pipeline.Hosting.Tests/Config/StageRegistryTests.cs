using Pipeline.Hosting.Config;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Hosting.Tests.Config;

public sealed class StageRegistryTests
{
    // A user's own stage, configured from YAML by the name they register it under.
    private sealed class PrefixStage(string prefix) : ILogStage
    {
        public StageResult Process(LogEntry entry)
        {
            var line = prefix + entry.GetLineString();
            entry.SetLine(line.AsSpan());
            return StageResult.Keep;
        }
    }

    private static IReadOnlyList<ConfigNode> Stages(string yaml) =>
        AgentConfig.Parse("scrape_configs:\n  - job_name: app\n    pipeline_stages:\n" + yaml, "agent.yaml").ScrapeConfigs[0].PipelineStages;

    [Fact]
    public async Task CustomStage_RegisteredByName_IsBuiltFromYamlAndRuns()
    {
        var registry = StageRegistry.CreateDefault()
            .Register("prefix", (node, _) =>
            {
                node.AllowOnly("text");
                return new PrefixStage(node["text"].RequireString());
            });
        var stages = Stages("      - prefix:\n          text: '[app] '\n");

        var stage = (ILogStage)registry.Build("prefix", StageRegistry.Single(stages[0]).Body, new StageBuildContext { Registry = registry });

        await using var harness = await PipelineHarness.StartAsync(p => p.Then(stage, "prefix"));
        await harness.Source.WriteLinesAsync("started");
        var entries = await harness.DrainAsync();

        Assert.Equal("[app] started", entries[0].Line);
    }

    [Fact]
    public void AddTo_NamesComponentsByJobStageAndIndex()
    {
        var registry = StageRegistry.CreateDefault().Register("prefix", (node, _) => new PrefixStage(node["text"].AsString("")!));
        var stages = Stages("      - prefix:\n          text: a\n      - prefix:\n          text: b\n");
        var source = new ManualSource();
        var builder = LogPipeline.Create();

        builder.From(source, chain => registry.AddTo(chain, stages, new StageBuildContext { Registry = registry }, "app"));

        Assert.NotNull(builder.To(new CollectingSink()).Build());
    }

    [Fact]
    public void Build_PromtailStageNotRegistered_SaysNotSupportedYet()
    {
        var registry = StageRegistry.CreateDefault();
        var stages = Stages("      - luhn:\n          replacement: '**'\n");

        var error = Assert.Throws<ConfigException>(() =>
            registry.AddTo(new StageChainProbe().Chain, stages, new StageBuildContext { Registry = registry }, "app"));

        Assert.Contains("scrape_configs[0].pipeline_stages[0].luhn: not supported yet: luhn", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Build_UnknownStage_ListsKnownStages()
    {
        var registry = StageRegistry.CreateEmpty().Register("prefix", (_, _) => new PrefixStage(""));
        var stages = Stages("      - regexx:\n          expression: a\n");

        var error = Assert.Throws<ConfigException>(() =>
            registry.AddTo(new StageChainProbe().Chain, stages, new StageBuildContext { Registry = registry }, "app"));

        Assert.Contains("unknown stage 'regexx'; known stages: prefix", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_FactoryError_CarriesThePathOfTheBadValue()
    {
        var registry = StageRegistry.CreateDefault().Register("prefix", (node, _) =>
        {
            node.AllowOnly("text");
            return new PrefixStage(node["text"].RequireString());
        });
        var stages = Stages("      - prefix:\n          txt: a\n");

        var error = Assert.Throws<ConfigException>(() =>
            registry.AddTo(new StageChainProbe().Chain, stages, new StageBuildContext { Registry = registry }, "app"));

        Assert.Contains("agent.yaml:5:11: scrape_configs[0].pipeline_stages[0].prefix.txt: unknown key 'txt'; accepted keys here: text", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Captures the stage chain a builder hands to a source's stage callback.</summary>
    private sealed class StageChainProbe
    {
        public StageChainProbe()
        {
            StageChain? captured = null;
            LogPipeline.Create().From(new ManualSource(), c => captured = c);
            Chain = captured!;
        }

        public StageChain Chain { get; }
    }
}
