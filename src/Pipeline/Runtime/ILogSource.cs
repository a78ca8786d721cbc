namespace Pipeline.Runtime;

/// <summary>
/// Where entries come from (files, a push receiver, the app's own logger). A source fills chunks rented from
/// <see cref="ComponentContext.Chunks"/> and hands them on with <see cref="SourceContext.EmitAsync"/>, which
/// waits when downstream is full: that wait is the backpressure that keeps memory bounded.
/// </summary>
public interface ILogSource
{
    /// <summary>Runs until <paramref name="cancellationToken"/> asks it to stop (or it has nothing more to read).</summary>
    /// <param name="context">Emission, acknowledgement trackers, clock, logger and metrics.</param>
    /// <param name="cancellationToken">Signals that the pipeline is stopping; return promptly, emitting nothing further.</param>
    /// <returns>A task that completes when the source is done.</returns>
    Task RunAsync(SourceContext context, CancellationToken cancellationToken);
}
