using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;

namespace Pipeline.LogQL.Extraction;

/// <summary>
/// Extraction by the named groups of an RE2 pattern, for Promtail's <c>regex</c> stage and LogQL's <c>| regexp</c>:
/// the input is decoded into a reused UTF-16 buffer (invalid UTF-8 becomes U+FFFD, as Go's regexp sees it) and matched
/// on the non-backtracking engine; output <c>i</c> is the <c>i</c>-th named group (<see cref="Names"/>). A named group
/// that did not take part in the match yields an empty value, as Go's <c>FindSubmatch</c> does. One instance matches one
/// input at a time.
/// </summary>
internal sealed class RegexpExtractor
{
    private readonly Regex _regex;
    private readonly int[] _numbers;
    private readonly Utf16Scratch _scratch = new();

    /// <summary>Compiles a pattern.</summary>
    /// <param name="pattern">The RE2 pattern.</param>
    /// <param name="labelNames">Whether group names must be valid, distinct label names (LogQL, where they become labels).</param>
    /// <exception cref="ArgumentException">The pattern is invalid (see <see cref="Re2Regex.Compile"/>).</exception>
    /// <exception cref="FormatException">The pattern has no named group, or (with <paramref name="labelNames"/>) a name is not a label name.</exception>
    public RegexpExtractor(string pattern, bool labelNames)
    {
        _regex = Re2Regex.Compile(pattern);
        var byNumber = Re2Regex.GroupNamesByNumber(_regex);
        var names = new List<string>();
        var numbers = new List<int>();
        for (var n = 0; n < byNumber.Length; n++)
        {
            if (byNumber[n] is not { } name)
            {
                continue;
            }

            if (labelNames && !Label.IsValidName(name))
            {
                throw new FormatException($"invalid extracted label name '{name}'");
            }

            names.Add(name);
            numbers.Add(n);
        }

        if (names.Count == 0)
        {
            throw new FormatException("at least one named capture must be supplied");
        }

        Names = names;
        _numbers = [.. numbers];
    }

    /// <summary>The named groups, in group-number order: output <c>i</c> is <c>Names[i]</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Matches <paramref name="input"/>; on a match, every named group is set.</summary>
    /// <returns>Whether it matched.</returns>
    public bool Extract<TTarget>(ReadOnlySpan<byte> input, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        var match = Match(input);
        if (!match.Success)
        {
            return false;
        }

        for (var i = 0; i < _numbers.Length; i++)
        {
            var group = match.Groups[_numbers[i]];
            target.Set(i, group.Success ? group.ValueSpan : []);
        }

        return true;
    }

    private Match Match(ReadOnlySpan<byte> input)
    {
        _scratch.Load(input);
        return _regex.Match(_scratch.Buffer, 0, _scratch.Length);
    }
}
