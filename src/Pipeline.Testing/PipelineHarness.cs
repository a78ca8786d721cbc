using Microsoft.Extensions.Time.Testing;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// A running pipeline for a test: a <see cref="ManualSource"/>, the stages under test, a
/// <see cref="CollectingSink"/>, a fake clock and captured metrics, all wired and started in one call.
/// </summary>
/// <example>
/// <code>
/// await using var harness = await PipelineHarness.StartAsync(p => p.Then(new UppercaseStage()));
/// await harness.Source.WriteAsync("hello");
/// var entries = await harness.DrainAsync();
/// Assert.Equal("HELLO", entries[0].Line);
/// </code>
/// </example>
public sealed class PipelineHarness : IAsyncDisposable
{
    private PipelineHarness(LogPipeline pipeline, ManualSource source, CollectingSink sink, FakeTimeProvider time, MetricsCapture metrics)
    {
        Pipeline = pipeline;
        Source = source;
        Sink = sink;
        Time = time;
        Metrics = metrics;
    }

    /// <summary>The pipeline under test.</summary>
    public LogPipeline Pipeline { get; }

    /// <summary>The source to write entries into (component name <c>source</c>).</summary>
    public ManualSource Source { get; }

    /// <summary>The sink collecting what comes out (component name <c>sink</c>).</summary>
    public CollectingSink Sink { get; }

    /// <summary>The pipeline's clock.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>The pipeline's counters.</summary>
    public MetricsCapture Metrics { get; }

    /// <summary>Builds and starts <c>source -> (your stages) -> sink</c>.</summary>
    /// <param name="stages">Adds the stages under test, e.g. <c>p => p.Then(new MyStage())</c>.</param>
    /// <param name="autoAcknowledge">Whether the sink acknowledges entries on arrival.</param>
    /// <param name="options">Further pipeline options; its clock is replaced by the harness's fake clock.</param>
    /// <returns>The started harness.</returns>
    public static async Task<PipelineHarness> StartAsync(Action<LogPipelineBuilder>? stages = null, bool autoAcknowledge = true, PipelineOptions? options = null)
    {
        options ??= new PipelineOptions();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
        options.TimeProvider = time;
        var source = new ManualSource();
        var sink = new CollectingSink(autoAcknowledge);
        var builder = LogPipeline.Create(options).From(source, "source");
        stages?.Invoke(builder);
        var pipeline = builder.To(sink, "sink").Build();
        var metrics = new MetricsCapture(pipeline.Meter);
        await pipeline.StartAsync().ConfigureAwait(false);
        return new PipelineHarness(pipeline, source, sink, time, metrics);
    }

    /// <summary>Completes the source, lets the pipeline drain and stop, and returns everything the sink received.</summary>
    /// <param name="timeout">How long to wait; 30 s when <see langword="null"/>.</param>
    /// <returns>The collected entries.</returns>
    public async Task<IReadOnlyList<CollectedEntry>> DrainAsync(TimeSpan? timeout = null)
    {
        Source.Complete();
        await Pipeline.Completion.WaitAsync(timeout ?? Harness.DefaultTimeout).ConfigureAwait(false);
        return Sink.Entries;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Source.Complete();
        using (var cts = new CancellationTokenSource(Harness.DefaultTimeout))
        {
            await Pipeline.StopAsync(cts.Token).ConfigureAwait(false);
        }

        Metrics.Dispose();
        await Pipeline.DisposeAsync().ConfigureAwait(false);
    }
}
