using System.Text.RegularExpressions;

namespace Pipeline.Aggregator.Index;

/// <summary>How a <see cref="LabelMatcher"/> compares.</summary>
public enum LabelMatchType
{
    /// <summary><c>name="value"</c></summary>
    Equal,

    /// <summary><c>name!="value"</c></summary>
    NotEqual,

    /// <summary><c>name=~"regex"</c> (fully anchored, as in Prometheus)</summary>
    Regex,

    /// <summary><c>name!~"regex"</c></summary>
    NotRegex,
}

/// <summary>
/// One matcher of a stream selector. As in Prometheus and Loki, an absent label has the empty value, so
/// <c>app=""</c> matches streams without <c>app</c> and regexes are anchored at both ends.
/// </summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    /// <summary>Creates a matcher.</summary>
    /// <param name="type">How to compare.</param>
    /// <param name="name">The label name.</param>
    /// <param name="value">The value or regular expression.</param>
    /// <exception cref="ArgumentException">The regular expression does not parse; the message says why.</exception>
    public LabelMatcher(LabelMatchType type, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Type = type;
        Name = name;
        Value = value;
        if (type is LabelMatchType.Regex or LabelMatchType.NotRegex)
        {
            try
            {
                _regex = new Regex("^(?:" + value + ")$", RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"invalid regular expression '{value}' for label '{name}': {ex.Message}", nameof(value), ex);
            }
        }
    }

    /// <summary>How to compare.</summary>
    public LabelMatchType Type { get; }

    /// <summary>The label name.</summary>
    public string Name { get; }

    /// <summary>The value or regular expression.</summary>
    public string Value { get; }

    /// <summary>A <c>name="value"</c> matcher.</summary>
    /// <param name="name">The label name.</param>
    /// <param name="value">The value.</param>
    /// <returns>The matcher.</returns>
    public static LabelMatcher Equal(string name, string value) => new(LabelMatchType.Equal, name, value);

    /// <summary>Whether a label value (<see langword="null"/> when absent) matches.</summary>
    /// <param name="value">The value, or <see langword="null"/>.</param>
    /// <returns>Whether it matches.</returns>
    public bool Matches(string? value)
    {
        value ??= string.Empty;
        return Type switch
        {
            LabelMatchType.Equal => string.Equals(value, Value, StringComparison.Ordinal),
            LabelMatchType.NotEqual => !string.Equals(value, Value, StringComparison.Ordinal),
            LabelMatchType.Regex => _regex!.IsMatch(value),
            _ => !_regex!.IsMatch(value),
        };
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var op = Type switch
        {
            LabelMatchType.Equal => "=",
            LabelMatchType.NotEqual => "!=",
            LabelMatchType.Regex => "=~",
            _ => "!~",
        };
        var escaped = Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return $"{Name}{op}\"{escaped}\"";
    }
}
