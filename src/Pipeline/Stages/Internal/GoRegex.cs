using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Stages.Internal;

/// <summary>
/// Compiles regular expressions written for Go's RE2 (as in Promtail configs) on .NET: translates RE2-only syntax
/// (<c>(?P&lt;name&gt;...)</c>, POSIX classes <c>[[:alpha:]]</c>, <c>\Q...\E</c>, <c>\pL</c>) and prefers the
/// <see cref="RegexOptions.NonBacktracking"/> engine, whose run time is linear in the input, so a hostile pattern or
/// line cannot hang the agent. Patterns that engine rejects (backreferences, lookarounds, atomic groups...) fall back
/// to the backtracking engine with a match timeout, and <see cref="FallbackReason"/> says which construct forced it.
/// </summary>
internal sealed class GoRegex
{
    /// <summary>The match timeout of the backtracking fallback.</summary>
    public static readonly TimeSpan FallbackTimeout = TimeSpan.FromSeconds(1);

    private GoRegex(Regex regex, string translated, string? fallbackReason)
    {
        Regex = regex;
        Translated = translated;
        FallbackReason = fallbackReason;
    }

    /// <summary>The compiled regex.</summary>
    public Regex Regex { get; }

    /// <summary>The .NET pattern after translation.</summary>
    public string Translated { get; }

    /// <summary>Why the backtracking engine had to be used, or <see langword="null"/> when the non-backtracking one is.</summary>
    public string? FallbackReason { get; }

    /// <summary>Translates and compiles <paramref name="pattern"/>, or throws <see cref="StageOptionsException"/>.</summary>
    /// <param name="pattern">The RE2 pattern.</param>
    /// <param name="stage">The stage name, for errors.</param>
    /// <param name="field">The option name, for errors.</param>
    /// <param name="anchor">Whether to anchor the pattern at both ends (Prometheus relabel regexes).</param>
    public static GoRegex Compile(string? pattern, string stage, string field, bool anchor = false)
    {
        if (pattern is null)
        {
            throw new StageOptionsException(stage, field, null, "a regular expression is required");
        }

        string translated;
        try
        {
            translated = Translate(pattern);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException(stage, field, pattern, ex.Message, ex);
        }

        if (anchor)
        {
            translated = "^(?:" + translated + ")$";
        }

        const RegexOptions Common = RegexOptions.CultureInvariant;
        try
        {
            return new GoRegex(new Regex(translated, Common | RegexOptions.NonBacktracking), translated, null);
        }
        catch (NotSupportedException ex)
        {
            try
            {
                var regex = new Regex(translated, Common | RegexOptions.Compiled, FallbackTimeout);
                return new GoRegex(regex, translated, ex.Message);
            }
            catch (ArgumentException inner)
            {
                throw new StageOptionsException(stage, field, pattern, "a valid regular expression (" + inner.Message + ")", inner);
            }
        }
        catch (ArgumentException ex)
        {
            throw new StageOptionsException(stage, field, pattern, "a valid regular expression (" + ex.Message + ")", ex);
        }
    }

    /// <summary>Rewrites RE2-only syntax as .NET syntax; everything else passes through unchanged.</summary>
    /// <exception cref="FormatException">The pattern uses an RE2 construct that has no .NET equivalent, or is cut short.</exception>
    public static string Translate(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var sb = new StringBuilder(pattern.Length + 8);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length)
                {
                    throw new FormatException($"trailing backslash at position {i}");
                }

                var next = pattern[i + 1];
                if (next == 'Q' && !inClass)
                {
                    var end = pattern.IndexOf("\\E", i + 2, StringComparison.Ordinal);
                    var literal = end < 0 ? pattern[(i + 2)..] : pattern[(i + 2)..end];
                    sb.Append(Regex.Escape(literal));
                    i = end < 0 ? pattern.Length : end + 1;
                    continue;
                }

                if ((next == 'p' || next == 'P') && i + 2 < pattern.Length && pattern[i + 2] != '{')
                {
                    // RE2 allows one-letter classes without braces (\pL); .NET needs \p{L}.
                    sb.Append('\\').Append(next).Append('{').Append(pattern[i + 2]).Append('}');
                    i += 2;
                    continue;
                }

                if (next == 'z')
                {
                    sb.Append("\\z");
                    i++;
                    continue;
                }

                sb.Append(c).Append(next);
                i++;
                continue;
            }

            if (inClass)
            {
                if (c == '[' && i + 1 < pattern.Length && pattern[i + 1] == ':')
                {
                    var end = pattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                    if (end > 0)
                    {
                        var name = pattern[(i + 2)..end];
                        sb.Append(PosixClass(name, i));
                        i = end + 1;
                        continue;
                    }
                }

                if (c == ']')
                {
                    inClass = false;
                }

                sb.Append(c);
                continue;
            }

            if (c == '[')
            {
                inClass = true;
                sb.Append(c);

                // A ']' right after '[' or '[^' is a literal in both dialects.
                if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                {
                    sb.Append('^');
                    i++;
                }

                if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                {
                    sb.Append("\\]");
                    i++;
                }

                continue;
            }

            if (c == '(' && i + 2 < pattern.Length && pattern[i + 1] == '?' && pattern[i + 2] == 'P' && i + 3 < pattern.Length && pattern[i + 3] == '<')
            {
                // Go's (?P<name>...) is .NET's (?<name>...).
                sb.Append("(?<");
                i += 3;
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static string PosixClass(string name, int position) => name switch
    {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => "\\x00-\\x7F",
        "blank" => "\\t ",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "!-~",
        "lower" => "a-z",
        "print" => " -~",
        "punct" => "!-/:-@\\[-`{-~",
        "space" => "\\t\\n\\v\\f\\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => throw new FormatException($"unknown POSIX class [:{name}:] at position {position}"),
    };

    /// <summary>The names of the named groups, by group number (null for unnamed groups and group 0).</summary>
    public string?[] GroupNamesByNumber()
    {
        var numbers = Regex.GetGroupNumbers();
        var max = 0;
        foreach (var n in numbers)
        {
            max = Math.Max(max, n);
        }

        var names = new string?[max + 1];
        foreach (var n in numbers)
        {
            var name = Regex.GroupNameFromNumber(n);
            if (n != 0 && !int.TryParse(name, out _))
            {
                names[n] = name;
            }
        }

        return names;
    }
}
