namespace Pipeline.Loki.Protocol;

/// <summary>A push body is malformed; the message says what was wrong and where.</summary>
public sealed class PushFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public PushFormatException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong and where.</param>
    public PushFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong and where.</param>
    /// <param name="innerException">The underlying error.</param>
    public PushFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
