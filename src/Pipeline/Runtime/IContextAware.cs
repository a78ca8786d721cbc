namespace Pipeline.Runtime;

/// <summary>
/// Implemented by a function stage that needs the pipeline's clock, logger or metrics. The runtime calls
/// <see cref="Attach"/> once, before the pipeline starts.
/// </summary>
public interface IContextAware
{
    /// <summary>Gives the stage its context.</summary>
    /// <param name="context">The stage's context.</param>
    void Attach(ComponentContext context);
}
