using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// A line filter on the raw UTF-8 line: <c>|=</c> and <c>!=</c> search the bytes with vectorized IndexOf (no decoding);
/// <c>|~</c> and <c>!~</c> decode into a pooled buffer and run a non-backtracking regex.
/// </summary>
internal sealed class LineFilterStage
{
    private static readonly SearchValues<char> s_metaCharacters = SearchValues.Create(@"\.+*?()|[]{}^$#");

    private readonly byte[][] _needles;
    private string[]? _textNeedles;
    private readonly Regex[] _regexes;
    private readonly bool _negate;

    public LineFilterStage(LineFilterExpr expr)
    {
        _negate = expr.Op is LineFilterOp.NotContains or LineFilterOp.NotMatch;
        var values = expr.Values;
        if (expr.Op is LineFilterOp.Contains or LineFilterOp.NotContains)
        {
            _needles = new byte[values.Count][];
            for (var i = 0; i < values.Count; i++)
            {
                _needles[i] = Encoding.UTF8.GetBytes(values[i]);
            }

            _regexes = [];
        }
        else
        {
            // A pattern without metacharacters is a plain substring search: keep it on the byte path.
            var literal = true;
            foreach (var value in values)
            {
                if (value.AsSpan().IndexOfAny(s_metaCharacters) >= 0)
                {
                    literal = false;
                }
            }

            if (literal)
            {
                _needles = new byte[values.Count][];
                for (var i = 0; i < values.Count; i++)
                {
                    _needles[i] = Encoding.UTF8.GetBytes(values[i]);
                }

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

        if (!found && _regexes.Length > 0)
        {
            found = MatchesRegex(line);
        }

        return found != _negate;
    }

    public bool Matches(string line)
    {
        var found = false;

        // Rewritten lines are text: compare with the needles decoded once.
        _textNeedles ??= Array.ConvertAll(_needles, static n => Encoding.UTF8.GetString(n));
        foreach (var needle in _textNeedles)
        {
            if (line.Contains(needle, StringComparison.Ordinal))
            {
                found = true;
                break;
            }
        }

        if (!found)
        {
            foreach (var regex in _regexes)
            {
                if (regex.IsMatch(line))
                {
                    found = true;
                    break;
                }
            }
        }

        return found != _negate;
    }

    private bool MatchesRegex(ReadOnlySpan<byte> line)
    {
        var chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(line.Length));
        try
        {
            var count = Encoding.UTF8.GetChars(line, chars);
            var text = chars.AsSpan(0, count);
            foreach (var regex in _regexes)
            {
                if (regex.IsMatch(text))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
