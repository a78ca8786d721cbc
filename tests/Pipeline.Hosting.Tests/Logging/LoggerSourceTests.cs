using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Hosting.Logging;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Hosting.Tests.Logging;

public sealed class LoggerSourceTests
{
    [Fact]
    public async Task Host_AppLogs_FlowThroughThePipeline_AndAreFlushedOnStop()
    {
        var sink = new CollectingSink();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddPipeline(o =>
        {
            o.Labels["app"] = "shop";
            o.MinimumLevel = LogLevel.Information;
        });
        builder.Services.AddLogPipeline((_, pipeline) => pipeline.To(sink, "collect"));
        using var host = builder.Build();
        await host.StartAsync();

        var logger = host.Services.GetRequiredService<ILogger<LoggerSourceTests>>();
        using (logger.BeginScope("order {OrderId}", 42))
        {
            logger.LogInformation(new EventId(7), "paid {Amount} EUR", 12.5);
        }

        logger.LogDebug("below the minimum level");
        logger.LogError(new InvalidOperationException("card declined"), "payment failed");
        await host.StopAsync();

        // The host's own lifetime messages come through too; look at this test's.
        var entries = sink.Entries.Where(e => e.Metadata["category"] == typeof(LoggerSourceTests).FullName).ToList();
        Assert.Equal(2, entries.Count);
        Assert.Contains(sink.Entries, e => e.Metadata["category"] == "Microsoft.Hosting.Lifetime");
        Assert.Equal("paid 12.5 EUR", entries[0].Line);
        Assert.Equal("""{app="shop", level="info"}""", entries[0].Labels.ToString());
        Assert.Equal(typeof(LoggerSourceTests).FullName, entries[0].Metadata["category"]);
        Assert.Equal("7", entries[0].Metadata["event_id"]);
        Assert.Equal("order 42", entries[0].Metadata["scope"]);
        Assert.StartsWith("payment failed\nSystem.InvalidOperationException: card declined", entries[1].Line, StringComparison.Ordinal);
        Assert.Equal("error", entries[1].Labels["level"]);
    }

    [Fact]
    public async Task TryWrite_BufferFull_DropsAndCountsWithoutBlocking()
    {
        var options = new PipelineLoggerOptions { Capacity = 2 };
        var source = new LoggerSource(options);
        var provider = new PipelineLoggerProvider(source);
        var logger = provider.CreateLogger("app");

        for (var i = 0; i < 5; i++)
        {
            logger.LogWarning("message {N}", i);
        }

        Assert.Equal(3, source.Dropped);
        var sink = new CollectingSink();
        await using var pipeline = LogPipeline.Create().From(source, "app").To(sink).Build();
        using var metrics = new MetricsCapture(pipeline.Meter);
        await pipeline.StartAsync();
        await sink.WaitForCountAsync(2);
        await pipeline.StopAsync();

        Assert.Equal(["message 0", "message 1"], sink.Lines);
        Assert.Equal(3, metrics.Dropped("app", LoggerSource.BufferFullReason));
    }

    [Fact]
    public void Provider_PipelineComponentCategories_AreNotRecorded()
    {
        var source = new LoggerSource(new PipelineLoggerOptions());
        var provider = new PipelineLoggerProvider(source);

        provider.CreateLogger(LogPipeline.ComponentCategoryPrefix + "LokiPushSink").LogError("push failed");

        Assert.Equal(0, source.Dropped);
        Assert.False(provider.CreateLogger(LogPipeline.ComponentCategoryPrefix + "x").IsEnabled(LogLevel.Critical));
    }

    [Fact]
    public void Options_InvalidLabelName_ThrowsNamingIt()
    {
        var options = new PipelineLoggerOptions();
        options.Labels["bad-name"] = "x";

        var error = Assert.Throws<ArgumentException>(() => new LoggerSource(options));

        Assert.Contains("'bad-name'", error.Message, StringComparison.Ordinal);
    }
}
