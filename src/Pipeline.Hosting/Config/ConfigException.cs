namespace Pipeline.Hosting.Config;

/// <summary>
/// A configuration error: names the YAML path (<c>scrape_configs[0].pipeline_stages[2].regex.expression</c>),
/// the line and column, what was wrong and what would be accepted.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The configuration file, if known.</param>
    /// <param name="path">The YAML path of the offending value.</param>
    /// <param name="line">1-based line, or 0 when unknown.</param>
    /// <param name="column">1-based column, or 0 when unknown.</param>
    /// <param name="problem">What was wrong and what would be accepted.</param>
    public ConfigException(string? file, string path, int line, int column, string problem)
        : base(Format(file, path, line, column, problem))
    {
        File = file;
        Path = path;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>Creates the exception.</summary>
    public ConfigException()
        : this(null, string.Empty, 0, 0, "invalid configuration")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ConfigException(string message)
        : this(null, string.Empty, 0, 0, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
        Problem = message;
    }

    /// <summary>The configuration file, if known.</summary>
    public string? File { get; }

    /// <summary>The YAML path of the offending value, e.g. <c>clients[0].url</c>.</summary>
    public string Path { get; }

    /// <summary>1-based line, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column, or 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>What was wrong and what would be accepted.</summary>
    public string Problem { get; }

    private static string Format(string? file, string path, int line, int column, string problem)
    {
        var where = line > 0 ? $"{file ?? "config"}:{line}:{column}: " : file is null ? string.Empty : $"{file}: ";
        var what = string.IsNullOrEmpty(path) ? string.Empty : $"{path}: ";
        return where + what + problem;
    }
}
