namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// An append was refused because the ingester could not take it in time: its WAL queue stayed full, or its memory stayed
/// over <see cref="IngesterOptions.MemoryLimitBytes"/> because chunks could not be written out fast enough. Nothing of
/// the append was stored; retry later (the push API answers 429).
/// </summary>
public sealed class IngesterOverloadedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IngesterOverloadedException()
        : this("the ingester is overloaded")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was full and for how long.</param>
    public IngesterOverloadedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was full and for how long.</param>
    /// <param name="innerException">The cause.</param>
    public IngesterOverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
