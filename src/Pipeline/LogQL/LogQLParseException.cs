namespace Pipeline.LogQL;

/// <summary>
/// A query that is not valid LogQL. The message follows Loki's wording, e.g.
/// <c>parse error at line 1, col 12: syntax error: unexpected IDENTIFIER, expecting = or != or =~ or !~</c>;
/// an HTTP layer answers it with 400 Bad Request.
/// </summary>
public sealed class LogQLParseException : LogQLException
{
    /// <summary>Creates an exception.</summary>
    public LogQLParseException()
    {
    }

    /// <summary>Creates an exception with a complete message.</summary>
    /// <param name="message">What was wrong.</param>
    public LogQLParseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public LogQLParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception at a position.</summary>
    /// <param name="detail">What was wrong, without the position prefix.</param>
    /// <param name="line">1-based line, or 0 when the error has no position.</param>
    /// <param name="column">1-based column, or 0 when the error has no position.</param>
    public LogQLParseException(string detail, int line, int column)
        : base(line == 0 ? $"parse error : {detail}" : $"parse error at line {line}, col {column}: {detail}")
    {
        Detail = detail;
        Line = line;
        Column = column;
    }

    /// <summary>What was wrong, without the position prefix.</summary>
    public string Detail { get; } = string.Empty;

    /// <summary>1-based line of the error, or 0 when it has no position.</summary>
    public int Line { get; }

    /// <summary>1-based column of the error, or 0 when it has no position.</summary>
    public int Column { get; }
}
