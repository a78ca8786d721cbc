namespace Pipeline.Runtime;

/// <summary>
/// Implemented by a source that acts once the pipeline has drained: every stage and sink has finished, so
/// every acknowledgement that is coming has come. A file source writes its final positions here, after its
/// own loop has ended (sources stop first, sinks last).
/// </summary>
public interface IDrainAware
{
    /// <summary>Called once, after every component of the pipeline has finished (also after an abort).</summary>
    /// <param name="cancellationToken">Not cancelled by the runtime; for the implementation's own use.</param>
    /// <returns>A task that completes when done.</returns>
    Task OnDrainedAsync(CancellationToken cancellationToken);
}
