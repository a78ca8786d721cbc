namespace Pipeline.Runtime;

/// <summary>A pipeline component failed; <see cref="Exception.InnerException"/> is what it threw.</summary>
public sealed class PipelineComponentException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="component">The failed component's name.</param>
    /// <param name="inner">What it threw.</param>
    public PipelineComponentException(string component, Exception inner)
        : base($"Pipeline component '{component}' failed: {inner?.Message}", inner)
    {
        Component = component;
    }

    /// <summary>Creates the exception.</summary>
    public PipelineComponentException()
    {
        Component = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public PipelineComponentException(string message)
        : base(message)
    {
        Component = string.Empty;
    }

    /// <summary>The failed component's name.</summary>
    public string Component { get; }
}
