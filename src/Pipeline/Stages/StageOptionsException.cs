using System.Globalization;

namespace Pipeline.Stages;

/// <summary>
/// A stage's options are invalid. The message names the stage, the option (by its Promtail name, such as
/// <c>max_partial_lines</c>), the value given and what would be accepted, so a configuration front end can prefix
/// it with its own path (for example the YAML line) and show it as is.
/// </summary>
public sealed class StageOptionsException : ArgumentException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public StageOptionsException()
        : base("invalid stage options")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What was wrong.</param>
    public StageOptionsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public StageOptionsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for one invalid option.</summary>
    /// <param name="stage">The stage's Promtail name, such as <c>cri</c> or <c>regex</c>.</param>
    /// <param name="field">The option's Promtail name, such as <c>expression</c>.</param>
    /// <param name="value">The value given (<see langword="null"/> when missing).</param>
    /// <param name="expected">What would be accepted.</param>
    /// <param name="innerException">The cause, if any.</param>
    public StageOptionsException(string stage, string field, object? value, string expected, Exception? innerException = null)
        : base(Format(stage, field, value, expected), innerException)
    {
        Stage = stage;
        Field = field;
        Value = value is null ? null : Convert.ToString(value, CultureInfo.InvariantCulture);
        Expected = expected;
    }

    /// <summary>The stage's Promtail name, when known.</summary>
    public string? Stage { get; }

    /// <summary>The option's Promtail name, when known.</summary>
    public string? Field { get; }

    /// <summary>The value given, as text (<see langword="null"/> when it was missing).</summary>
    public string? Value { get; }

    /// <summary>What would have been accepted, when known.</summary>
    public string? Expected { get; }

    private static string Format(string stage, string field, object? value, string expected)
    {
        var shown = value is null ? "(missing)" : $"'{Convert.ToString(value, CultureInfo.InvariantCulture)}'";
        return $"{stage}.{field}: invalid value {shown}: {expected}";
    }
}
