using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Re2;
using Pipeline.LogQL.Syntax;

namespace Pipeline.LogQL.Matching;

/// <summary>
/// A line filter on the UTF-8 line, for LogQL pipelines and Promtail's <c>match</c> stage: <c>|=</c> and <c>!=</c>
/// search the bytes with vectorized IndexOf (no decoding); <c>|~</c> and <c>!~</c> decode into a reused buffer and run
/// the RE2 pattern on the non-backtracking engine, unless it has no metacharacter or is only an alternation of
/// literals (<c>a|b</c>): then it is a byte search too.
/// With <c>or</c> (<c>|= "a" or "b"</c>) any value matches; negated filters match when none does. One instance filters
/// one line at a time.
/// </summary>
internal sealed class LineFilter
{
    private static readonly SearchValues<char> s_alternationMetaCharacters = SearchValues.Create(@"\.+*?()[]{}^$#");

    private readonly byte[][] _needles;
    private readonly Regex[] _regexes;
    private readonly PatternExtractor[] _patterns = [];
    private readonly bool _negate;
    private readonly Utf16Scratch _scratch = new();

    /// <summary>Compiles a filter.</summary>
    /// <exception cref="ArgumentException">A regex value is invalid (see <see cref="Re2Regex.Compile"/>).</exception>
    public LineFilter(LineFilterExpr expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        _negate = expr.Op is LineFilterOp.NotContains or LineFilterOp.NotMatch or LineFilterOp.NotPattern;
        var values = expr.Values;
        if (expr.Op is LineFilterOp.Pattern or LineFilterOp.NotPattern)
        {
            _needles = [];
            _regexes = [];
            _patterns = new PatternExtractor[values.Count];
            for (var i = 0; i < values.Count; i++)
            {
                _patterns[i] = PatternExtractor.ForLineFilter(values[i]);
            }

            return;
        }

        var literal = true;
        if (expr.Op is LineFilterOp.Match or LineFilterOp.NotMatch)
        {
            // A pattern without metacharacters, or an alternation of such (a|b), is a plain substring search for any of
            // them: keep it on the byte path.
            foreach (var value in values)
            {
                literal &= value.AsSpan().IndexOfAny(s_alternationMetaCharacters) < 0;
            }
        }

        if (literal)
        {
            var regex = expr.Op is LineFilterOp.Match or LineFilterOp.NotMatch;
            var needles = new List<byte[]>(values.Count);
            foreach (var value in values)
            {
                foreach (var alternative in regex ? value.Split('|') : [value])
                {
                    needles.Add(Encoding.UTF8.GetBytes(alternative));
                }
            }

            _needles = [.. needles];
            _regexes = [];
        }
        else
        {
            _needles = [];
            _regexes = new Regex[values.Count];
            for (var i = 0; i < values.Count; i++)
            {
                _regexes[i] = Re2Regex.Compile(values[i]);
            }
        }
    }

    public bool Matches(ReadOnlySpan<byte> line)
    {
        var found = false;
        foreach (var needle in _needles)
        {
            if (line.IndexOf(needle) >= 0)
            {
                found = true;
                break;
            }
        }

        foreach (var pattern in _patterns)
        {
            if (!found && pattern.Test(line))
            {
                found = true;
            }
        }

        if (!found && _regexes.Length > 0)
        {
            _scratch.Load(line);
            var text = _scratch.Buffer.AsSpan(0, _scratch.Length);
            foreach (var regex in _regexes)
            {
                if (regex.IsMatch(text))
                {
                    found = true;
                    break;
                }
            }
        }

        return found != _negate;
    }
}
