using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Hosting.Config;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Testing.Tests;

// The code of the README, compiled and run. Keep the two in step.

// README: "Write a custom stage"
public sealed partial class RedactEmailsStage : ILogStage
{
    public StageResult Process(LogEntry entry)
    {
        // Fast path on bytes: most lines have no '@' and are left alone without decoding.
        if (entry.Line.IndexOf((byte)'@') < 0)
        {
            return StageResult.Keep;
        }

        var line = Encoding.UTF8.GetString(entry.Line);
        entry.SetLine(Email().Replace(line, "[email]").AsSpan());
        return StageResult.Keep;
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+\.[\w.]+")]
    private static partial Regex Email();
}

public sealed class ReadmeExamples
{
    // README: "Test it with Pipeline.Testing"
    [Fact]
    public void Redacts_emails()
    {
        using var tester = new StageTester(new RedactEmailsStage());

        var outcome = tester.Process("user bob@example.com logged in");

        Assert.True(outcome.Kept);
        Assert.Equal("user [email] logged in", outcome.Line);
    }

    // README: "... or the whole pipeline around it"
    [Fact]
    public async Task Drops_health_checks_and_acknowledges_them()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p
            .Then(new RedactEmailsStage())
            .Then("drop-health", e => e.Line.IndexOf("GET /healthz"u8) >= 0 ? StageResult.Drop("health_check") : StageResult.Keep));

        await harness.Source.WriteLinesAsync("GET /healthz 200", "login ann@example.org");
        var entries = await harness.DrainAsync();

        Assert.Equal(["login [email]"], entries.Select(e => e.Line));
        Assert.Equal(1, harness.Metrics.Dropped("drop-health", "health_check"));
        Assert.Equal(2, harness.Source.CommittedPosition);
    }

    // README: "Build a pipeline"
    [Fact]
    public async Task Build_a_pipeline()
    {
        var source = new ManualSource();      // your ILogSource: files, a push receiver, your app's logger
        var sink = new CollectingSink();      // your ILogSink: a Loki client, the console, a store

        await using var pipeline = LogPipeline.Create(new PipelineOptions { Name = "app" })
            .From(source)
            .Then(new RedactEmailsStage())
            .Then("drop-health", e => e.Line.IndexOf("GET /healthz"u8) >= 0 ? StageResult.Drop("health_check") : StageResult.Keep)
            .To(sink)
            .Build();

        await pipeline.StartAsync();
        await source.WriteAsync("paid by carol@example.net", LabelSet.Parse("""{app="shop", env="prod"}"""));
        await sink.WaitForCountAsync(1);
        await pipeline.StopAsync();

        Assert.Equal("paid by [email]", sink.Entries[0].Line);
        Assert.Equal("""{app="shop", env="prod"}""", sink.Entries[0].Labels.ToString());
    }

    // README: "Use it from a Promtail-style config"
    [Fact]
    public void Register_a_custom_stage_for_yaml()
    {
        var root = Directory.CreateTempSubdirectory("readme-").FullName;
        try
        {
            var yaml = $$"""
                positions:
                  filename: {{root}}/positions.yaml
                clients:
                  - url: http://127.0.0.1:3100/loki/api/v1/push
                scrape_configs:
                  - job_name: pods
                    pipeline_stages:
                      - cri: {}
                      - redact_emails: {}
                    static_configs:
                      - labels:
                          job: pods
                          __path__: {{root}}/*.log
                """;

            var stages = StageRegistry.CreateDefault()
                .Register("redact_emails", (config, context) => new RedactEmailsStage());
            var factory = new AgentPipelineFactory(AgentConfig.Parse(yaml), stages);
            var pipeline = factory.Build(new PipelineOptions(), ClientSinks.Create);

            Assert.NotNull(pipeline);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
