using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.Stages.Internal;

/// <summary>Compiles a stage option written as an RE2 pattern, reporting a bad one as that option's error.</summary>
internal static class OptionRegex
{
    /// <summary>Translates and compiles <paramref name="pattern"/> (see <see cref="Re2Regex"/>).</summary>
    /// <param name="pattern">The RE2 pattern.</param>
    /// <param name="stage">The stage name, for errors.</param>
    /// <param name="field">The option name, for errors.</param>
    /// <param name="anchor">Whether the whole input must match (Prometheus relabel regexes, label matchers).</param>
    /// <exception cref="StageOptionsException">The pattern is missing, invalid, or uses a construct RE2 does not have.</exception>
    public static Regex Compile(string? pattern, string stage, string field, bool anchor = false)
    {
        if (pattern is null)
        {
            throw new StageOptionsException(stage, field, null, "a regular expression is required");
        }

        try
        {
            return Re2Regex.Compile(pattern, anchor);
        }
        catch (ArgumentException ex)
        {
            throw new StageOptionsException(stage, field, pattern, ex.Message, ex);
        }
    }
}
