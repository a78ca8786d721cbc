using Pipeline.LogQL;

namespace Pipeline.Aggregator.LogQL;

/// <summary>A query that ran longer than its time-out; an HTTP layer answers 504 Gateway Timeout as Loki does.</summary>
public sealed class LogQLTimeoutException : LogQLException
{
    /// <summary>Creates an exception.</summary>
    public LogQLTimeoutException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What timed out.</param>
    public LogQLTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The cause.</param>
    public LogQLTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
