using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Diagnostics;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>
/// A running graph of sources, stages and sinks: sources feed bounded channels of chunks, consecutive function
/// stages run fused in one loop, task stages and sinks each own a loop, and every chunk fans out to every sink.
/// </summary>
/// <remarks>
/// <para>Lifecycle: <see cref="Create"/> -> <see cref="StartAsync"/> -> <see cref="StopAsync"/> or
/// <see cref="DisposeAsync"/>. Stop is idempotent and safe before start. It drains in order: sources stop, stages
/// pass on what they hold, sinks flush; an entry that no sink acknowledged keeps its source position uncommitted.</para>
/// <para>A component that fails (throws from its loop) stops the whole pipeline: the failure is logged and
/// <see cref="Completion"/> faults with it, and nothing waits forever on the failed component.</para>
/// </remarks>
public sealed class LogPipeline : IAsyncDisposable
{
    /// <summary>The logging category prefix of every component's logger (<c>Pipeline.Components.&lt;name&gt;</c>).</summary>
    public const string ComponentCategoryPrefix = "Pipeline.Components.";

    private const int Created = 0;
    private const int Running = 1;
    private const int Stopped = 2;

    private readonly PipelineOptions _options;
    private readonly SourceSpec[] _sources;
    private readonly List<ComponentSpec> _steps;
    private readonly ComponentSpec[] _sinks;
    private readonly bool _ownsMeter;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopSources = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _failuresLock = new();
    private readonly List<Exception> _failures = [];
    private PipelineCounters? _counters;
    private int _state;

    internal LogPipeline(PipelineOptions options, SourceSpec[] sources, List<ComponentSpec> steps, ComponentSpec[] sinks)
    {
        _options = options;
        _sources = sources;
        _steps = steps;
        _sinks = sinks;
        if (options.MeterFactory is { } factory)
        {
            Meter = factory.Create(PipelineInstruments.MeterName);
        }
        else
        {
            Meter = new Meter(PipelineInstruments.MeterName);
            _ownsMeter = true;
        }

        _logger = options.LoggerFactory.CreateLogger("Pipeline.Runtime.LogPipeline");
    }

    /// <summary>Starts describing a pipeline.</summary>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <returns>A builder.</returns>
    public static LogPipelineBuilder Create(PipelineOptions? options = null) => new(options ?? new PipelineOptions());

    /// <summary>The pipeline's name.</summary>
    public string Name => _options.Name;

    /// <summary>The meter carrying the pipeline's instruments (see <see cref="PipelineInstruments"/>).</summary>
    public Meter Meter { get; }

    /// <summary>Completes when every component has finished; faults with the failures of components that failed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Starts every component.</summary>
    /// <param name="cancellationToken">Not used after start; the pipeline runs until stopped.</param>
    /// <returns>A completed task once the components are started.</returns>
    /// <exception cref="InvalidOperationException">The pipeline was already started or stopped.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.CompareExchange(ref _state, Running, Created) != Created)
        {
            throw new InvalidOperationException($"Pipeline '{Name}' was already started; a pipeline runs once.");
        }

        _counters = new PipelineCounters(Meter);
        var tasks = new List<Task>();

        // Sinks first, then the main chain, then sources, so every reader exists before its writer starts.
        var sinkWriters = new ChannelWriter<EntryChunk>[_sinks.Length];
        var sinkMetrics = new ComponentMetrics[_sinks.Length];
        for (var i = 0; i < _sinks.Length; i++)
        {
            var spec = _sinks[i];
            var channel = CreateChannel(singleWriter: true);
            var context = CreateContext(spec.ResolvedName);
            sinkWriters[i] = channel.Writer;
            sinkMetrics[i] = context.Metrics;
            var sink = (ILogSink)spec.Component;
            tasks.Add(Run(spec.ResolvedName, () => sink.RunAsync(channel.Reader, context, _abort.Token), outlet: null));
        }

        var merge = CreateChannel(singleWriter: _sources.Length == 1);
        var mainOutput = BuildChain(_steps, merge.Reader, tasks);
        tasks.Add(Run("dispatch", () => DispatchAsync(mainOutput, sinkWriters, sinkMetrics), new Outlet(sinkWriters)));

        var mergeOutlet = new Outlet(merge.Writer, writers: _sources.Length);
        foreach (var spec in _sources)
        {
            var name = spec.Source.ResolvedName;
            Outlet sourceOutlet;
            if (spec.Stages.Steps.Count == 0)
            {
                sourceOutlet = mergeOutlet;
            }
            else
            {
                var own = CreateChannel(singleWriter: true);
                sourceOutlet = new Outlet(own.Writer);
                var branchOutput = BuildChain(spec.Stages.Steps, own.Reader, tasks);
                tasks.Add(Run($"{name}/forward", () => ForwardAsync(branchOutput, merge.Writer), mergeOutlet));
            }

            var source = (ILogSource)spec.Source.Component;
            var context = new SourceContext(
                Name, name, _options.TimeProvider, CreateLogger(name), Metrics(name),
                _options.ChunkPool, sourceOutlet.Writer, _sinks.Length, _abort.Token);
            var stopToken = CancellationTokenSource.CreateLinkedTokenSource(_stopSources.Token, _abort.Token).Token;
            tasks.Add(Run(name, () => source.RunAsync(context, stopToken), sourceOutlet, isSource: true));
        }

        _ = WatchAsync(tasks);
        PipelineLog.Started(_logger, Name, _sources.Length, _steps.Count + _sources.Sum(s => s.Stages.Steps.Count), _sinks.Length);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops gracefully: sources stop, buffered entries drain through the stages to the sinks, sinks flush.
    /// If <paramref name="cancellationToken"/> fires first, the pipeline aborts; entries not acknowledged by then
    /// keep their source positions uncommitted, so they are read again after a restart.
    /// </summary>
    /// <param name="cancellationToken">Ends the graceful drain.</param>
    /// <returns>A task that completes when the pipeline has stopped (or was aborted).</returns>
    /// <remarks>Failures of components do not throw here; they surface through <see cref="Completion"/>.</remarks>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var previous = Interlocked.Exchange(ref _state, Stopped);
        if (previous == Created)
        {
            _completion.TrySetResult();
            return;
        }

        await _stopSources.CancelAsync().ConfigureAwait(false);
        try
        {
            await _completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            PipelineLog.StopTimedOut(_logger, Name);
            await _abort.CancelAsync().ConfigureAwait(false);
        }
        catch (Exception) when (_completion.Task.IsFaulted)
        {
            // Component failures are reported through Completion.
        }
    }

    /// <summary>Stops gracefully within <see cref="PipelineOptions.ShutdownTimeout"/>, then aborts, and releases the meter.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) != Stopped)
        {
            using var deadline = new CancellationTokenSource(_options.ShutdownTimeout, _options.TimeProvider);
            await StopAsync(deadline.Token).ConfigureAwait(false);
        }

        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    private ChannelReader<EntryChunk> BuildChain(List<ComponentSpec> steps, ChannelReader<EntryChunk> input, List<Task> tasks)
    {
        var reader = input;
        var i = 0;
        while (i < steps.Count)
        {
            var output = CreateChannel(singleWriter: true);
            var outlet = new Outlet(output.Writer);
            var from = reader;
            if (steps[i].Component is ILogStage)
            {
                var stages = new List<ILogStage>();
                var contexts = new List<ComponentContext>();
                while (i < steps.Count && steps[i].Component is ILogStage stage)
                {
                    var context = CreateContext(steps[i].ResolvedName);
                    (stage as IContextAware)?.Attach(context);
                    stages.Add(stage);
                    contexts.Add(context);
                    i++;
                }

                var fused = new FusedStages([.. stages], [.. contexts]);
                var name = contexts.Count == 1 ? contexts[0].Name : $"{contexts[0].Name}..{contexts[^1].Name}";
                tasks.Add(Run(name, () => RunFusedAsync(fused, from, output.Writer), outlet));
            }
            else
            {
                var spec = steps[i++];
                var stage = (ITaskStage)spec.Component;
                var context = CreateContext(spec.ResolvedName);
                tasks.Add(Run(spec.ResolvedName, () => stage.RunAsync(from, output.Writer, context, _abort.Token), outlet));
            }

            reader = output.Reader;
        }

        return reader;
    }

    private async Task RunFusedAsync(FusedStages fused, ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output)
    {
        var token = _abort.Token;
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                fused.Process(chunk);
                if (chunk.Count == 0)
                {
                    chunk.Release();
                }
                else
                {
                    await output.WriteAsync(chunk, token).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task DispatchAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk>[] sinks, ComponentMetrics[] metrics)
    {
        var token = _abort.Token;
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                if (sinks.Length > 1)
                {
                    chunk.AddReferences(sinks.Length - 1);
                }

                var count = chunk.Count;
                for (var i = 0; i < sinks.Length; i++)
                {
                    metrics[i].AddReceived(count);
                    await sinks[i].WriteAsync(chunk, token).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task ForwardAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output)
    {
        var token = _abort.Token;
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                await output.WriteAsync(chunk, token).ConfigureAwait(false);
            }
        }
    }

    private Task Run(string name, Func<Task> body, Outlet? outlet, bool isSource = false) => Task.Run(async () =>
    {
        Exception? error = null;
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested || (isSource && _stopSources.IsCancellationRequested))
        {
            // Stopping or aborting: not a failure.
        }
        catch (Exception ex)
        {
            error = ex;
            Fail(name, ex);
        }
        finally
        {
            outlet?.Complete(error);
        }
    });

    private void Fail(string component, Exception exception)
    {
        lock (_failuresLock)
        {
            _failures.Add(new PipelineComponentException(component, exception));
        }

        PipelineLog.ComponentFailed(_logger, exception, Name, component);
        _stopSources.Cancel();
        _abort.Cancel();
    }

    private async Task WatchAsync(List<Task> tasks)
    {
        await Task.WhenAll(tasks).ConfigureAwait(false);
        foreach (var spec in _sources)
        {
            if (spec.Source.Component is IDrainAware drainAware)
            {
                try
                {
                    await drainAware.OnDrainedAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Fail(spec.Source.ResolvedName, ex);
                }
            }
        }
        Exception[] failures;
        lock (_failuresLock)
        {
            failures = [.. _failures];
        }

        PipelineLog.Stopped(_logger, Name);
        if (failures.Length > 0)
        {
            _completion.TrySetException(failures);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private Channel<EntryChunk> CreateChannel(bool singleWriter) =>
        Channel.CreateBounded<EntryChunk>(new BoundedChannelOptions(_options.ChannelCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = singleWriter,
        });

    private ComponentContext CreateContext(string name) =>
        new(Name, name, _options.TimeProvider, CreateLogger(name), Metrics(name), _options.ChunkPool);

    /// <summary>Component loggers share the <c>Pipeline.Components.</c> category prefix, so an in-app logger source can leave them out.</summary>
    private ILogger CreateLogger(string component) => _options.LoggerFactory.CreateLogger($"{ComponentCategoryPrefix}{component}");

    private ComponentMetrics Metrics(string name) => new(_counters!, Name, name);

    /// <summary>Where a component's output goes; completes the channel(s) when the last writer finishes.</summary>
    private sealed class Outlet
    {
        private readonly ChannelWriter<EntryChunk>[] _writers;
        private int _writersLeft;

        public Outlet(ChannelWriter<EntryChunk> writer, int writers = 1)
        {
            _writers = [writer];
            _writersLeft = writers;
        }

        public Outlet(ChannelWriter<EntryChunk>[] writers)
        {
            _writers = writers;
            _writersLeft = 1;
        }

        public ChannelWriter<EntryChunk> Writer => _writers[0];

        public void Complete(Exception? error)
        {
            if (error is not null || Interlocked.Decrement(ref _writersLeft) == 0)
            {
                foreach (var writer in _writers)
                {
                    writer.TryComplete(error);
                }
            }
        }
    }
}
