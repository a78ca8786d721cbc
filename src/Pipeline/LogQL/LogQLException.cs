namespace Pipeline.LogQL;

/// <summary>Base of the errors LogQL reports for a query: its parser here, the query engine's limits and time-outs in the aggregator (an HTTP layer answers them with a 4xx or 504).</summary>
public class LogQLException : Exception
{
    /// <summary>Creates an exception.</summary>
    public LogQLException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What was wrong.</param>
    public LogQLException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public LogQLException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
