using Microsoft.Extensions.Hosting;
using Pipeline.Runtime;

namespace Pipeline.Hosting;

/// <summary>Runs a <see cref="LogPipeline"/> for the lifetime of a Generic Host: built and started with the host, drained when it stops.</summary>
public sealed class PipelineHostedService : IHostedService, IAsyncDisposable
{
    private readonly Func<LogPipeline> _build;
    private LogPipeline? _pipeline;

    /// <summary>Creates the service.</summary>
    /// <param name="build">Builds the pipeline when the host starts.</param>
    public PipelineHostedService(Func<LogPipeline> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        _build = build;
    }

    /// <summary>The running pipeline, once the host has started.</summary>
    public LogPipeline? Pipeline => _pipeline;

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _pipeline = _build();
        await _pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drains the pipeline: sources stop, stages and sinks flush, until the host's shutdown time-out ends it.</summary>
    /// <param name="cancellationToken">The host's shutdown deadline.</param>
    /// <returns>A task that completes when stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken) => _pipeline?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_pipeline is not null)
        {
            await _pipeline.DisposeAsync().ConfigureAwait(false);
        }
    }
}
