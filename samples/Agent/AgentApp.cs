using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Hosting.Config;
using Pipeline.Prometheus.Exposition;
using Pipeline.Runtime;

namespace Pipeline.Samples.Agent;

/// <summary>
/// The agent (Promtail's role, a DaemonSet on every node): loads a Promtail-style configuration, tails the files,
/// runs the stages, pushes to every client, and serves <c>/ready</c>, <c>/metrics</c> and <c>/targets</c>.
/// </summary>
public sealed class AgentApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AgentRunner _runner;

    private AgentApp(WebApplication app, AgentRunner runner)
    {
        _app = app;
        _runner = runner;
    }

    /// <summary>The running pipeline (after <see cref="StartAsync"/>).</summary>
    public LogPipeline? Pipeline => _runner.Pipeline;

    /// <summary>The addresses the HTTP server listens on (after <see cref="StartAsync"/>).</summary>
    public IReadOnlyList<string> Urls => [.. _app.Urls];

    /// <summary>Builds the agent.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="dryRun">Print entries instead of pushing them.</param>
    /// <param name="stages">The stage registry; the built-in stages when <see langword="null"/>.</param>
    /// <param name="output">Where dry-run entries go; standard output when <see langword="null"/>.</param>
    /// <returns>The agent, not started.</returns>
    public static AgentApp Create(AgentConfig config, bool dryRun = false, StageRegistry? stages = null, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(config.Server.LogLevel switch
        {
            "debug" => LogLevel.Debug,
            "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.Information,
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // Standard output carries --dry-run entries; the agent's own logs go to standard error.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.UseKestrel(k => k.Listen(ParseAddress(config.Server.ListenAddress), config.Server.ListenPort));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddPrometheusMetrics(o =>
        {
            o.Meters.Add("Pipeline.Loki");
            o.Meters.Add(global::Pipeline.Sources.Files.FileTailSource.MeterName);
            o.Meters.Add(global::Pipeline.Stages.Flow.MetricsStage.DefaultMeterName);
        });
        var factory = new AgentPipelineFactory(config, stages ?? StageRegistry.CreateDefault());
        var runner = new AgentRunner(factory, dryRun ? new DryRunSink(output ?? Console.Out) : null);
        builder.Services.AddSingleton(runner);
        builder.Services.AddHostedService(sp => runner.Attach(sp.GetRequiredService<ILoggerFactory>()));

        var app = builder.Build();
        app.MapGet("/ready", () => runner.IsReady ? Results.Text("ready") : Results.Text("not ready", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapPrometheusMetrics();
        app.MapGet("/targets", () => Results.Content(TargetsPage.Render(factory.Sources), "text/html; charset=utf-8"));
        return new AgentApp(app, runner);
    }

    /// <summary>Runs the agent from the command line until SIGTERM / Ctrl+C, then drains.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The exit code: 0 after a clean stop, 1 on a configuration or pipeline failure, 2 on bad arguments.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        AgentArguments arguments;
        AgentConfig config;
        try
        {
            arguments = AgentArguments.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        try
        {
            config = AgentConfig.Load(arguments.ConfigFile, arguments.ExpandEnv);
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync($"invalid configuration: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            await using var agent = Create(config, arguments.DryRun);
            await agent._app.RunAsync().ConfigureAwait(false);
            return agent._runner.Failed ? 1 : 0;
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync($"invalid configuration: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>Starts the HTTP server and the pipeline.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when started.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Stops gracefully: the pipeline drains (pending batches pushed or their positions left uncommitted), positions are written.</summary>
    /// <param name="cancellationToken">Ends the drain.</param>
    /// <returns>A task that completes when stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static System.Net.IPAddress ParseAddress(string address) => address switch
    {
        "" or "0.0.0.0" or "*" => System.Net.IPAddress.Any,
        "localhost" => System.Net.IPAddress.Loopback,
        _ => System.Net.IPAddress.Parse(address),
    };
}

/// <summary>Builds the pipeline when the host starts and drains it when the host stops.</summary>
internal sealed class AgentRunner(AgentPipelineFactory factory, ILogSink? dryRun) : IHostedService
{
    private ILoggerFactory? _loggerFactory;

    public LogPipeline? Pipeline { get; private set; }

    public bool IsReady => Pipeline is { Completion.IsCompleted: false };

    public bool Failed => Pipeline?.Completion.IsFaulted ?? false;

    public AgentRunner Attach(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
        return this;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new PipelineOptions { Name = "agent", LoggerFactory = _loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance };
        Pipeline = factory.Build(options, ClientSinks.Create, dryRun);
        await Pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Pipeline?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}
