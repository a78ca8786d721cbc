using Pipeline.LogQL;

namespace Pipeline.Aggregator.LogQL;

/// <summary>A query that exceeds a limit (series, points, entries) or fails in its pipeline; an HTTP layer answers 400.</summary>
public sealed class LogQLLimitException : LogQLException
{
    /// <summary>Creates an exception.</summary>
    public LogQLLimitException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What was exceeded.</param>
    public LogQLLimitException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">What was exceeded.</param>
    /// <param name="innerException">The cause.</param>
    public LogQLLimitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
