using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.Model;

/// <summary>
/// One label matcher, such as <c>app="api"</c> or <c>pod=~"web-.*"</c>: of a LogQL stream selector, a Promtail
/// <c>match</c> stage, or a label index lookup. Regular expressions are RE2, fully anchored as in Prometheus; an
/// absent label matches as the empty string.
/// </summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    /// <summary>Creates a matcher.</summary>
    /// <param name="name">The label name.</param>
    /// <param name="type">How to compare.</param>
    /// <param name="value">The value or, for regex types, the pattern (RE2 syntax; matched fully anchored).</param>
    /// <exception cref="ArgumentException">The pattern is not a valid regular expression.</exception>
    public LabelMatcher(string name, LabelMatchType type, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Type = type;
        Value = value;
        if (type is LabelMatchType.Regex or LabelMatchType.NotRegex)
        {
            // \z rather than $: .NET's $ also matches before a final newline.
            _regex = Re2Regex.Compile(value, anchored: true);
        }
    }

    /// <summary>The label name.</summary>
    public string Name { get; }

    /// <summary>How the value is compared.</summary>
    public LabelMatchType Type { get; }

    /// <summary>The value, or the pattern for regex types.</summary>
    public string Value { get; }

    /// <summary>A <c>name="value"</c> matcher.</summary>
    /// <param name="name">The label name.</param>
    /// <param name="value">The value.</param>
    /// <returns>The matcher.</returns>
    public static LabelMatcher Equal(string name, string value) => new(name, LabelMatchType.Equal, value);

    /// <summary>Whether this is an equality matcher with a non-empty value, which a label index can answer directly.</summary>
    public bool IsIndexable => Type == LabelMatchType.Equal && Value.Length > 0;

    /// <summary>Whether the matcher accepts a label value.</summary>
    /// <param name="value">The value, or <see langword="null"/> (treated as empty) when the label is absent.</param>
    /// <returns><see langword="true"/> when it matches.</returns>
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

    /// <summary>The matcher in LogQL form, e.g. <c>app=~"web-.*"</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var op = Type switch
        {
            LabelMatchType.Equal => "=",
            LabelMatchType.NotEqual => "!=",
            LabelMatchType.Regex => "=~",
            _ => "!~",
        };
        return Name + op + LabelText.Quote(Value);
    }
}
