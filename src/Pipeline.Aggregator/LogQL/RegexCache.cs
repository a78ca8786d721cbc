using System.Text.RegularExpressions;

namespace Pipeline.Aggregator.LogQL;

/// <summary>Compiles the regular expressions of queries (RE2 syntax from Go) into .NET ones.</summary>
internal static class RegexCache
{
    /// <summary>A non-backtracking regex, so a query's pattern cannot take exponential time on a hostile line.</summary>
    public static Regex Create(string pattern, string what)
    {
        // Go writes named groups as (?P<name>...); .NET spells them (?<name>...).
        pattern = pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (NotSupportedException)
        {
            return Compile(pattern, what, RegexOptions.None);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"invalid regular expression '{pattern}': {ex.Message}", ex);
        }
    }

    private static Regex Compile(string pattern, string what, RegexOptions options)
    {
        try
        {
            return new Regex(pattern, options | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"invalid regular expression '{pattern}': {ex.Message}", ex);
        }
    }
}
