using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.LogQL.Re2;

/// <summary>
/// The one translation of RE2 patterns (Go's <c>regexp</c>, which Promtail configs and LogQL queries are written for)
/// to .NET, always on the <see cref="RegexOptions.NonBacktracking"/> engine, whose run time is linear in the input, so
/// no pattern or line can hang a pipeline or a query.
/// </summary>
/// <remarks>
/// <para>
/// Translated: <c>(?P&lt;name&gt;...)</c>, POSIX classes (<c>[[:alpha:]]</c>, <c>[[:^digit:]]</c>), <c>\Q...\E</c>,
/// one-letter Unicode classes (<c>\pL</c>), <c>\x{263a}</c>, octal escapes, and the RE2 meanings of <c>$</c> (end of
/// text unless <c>(?m)</c>) and of <c>\d</c>, <c>\w</c>, <c>\s</c> (ASCII only).
/// </para>
/// <para>
/// Constructs RE2 does not have are errors that name the construct, as Go's compiler rejects them: backreferences,
/// lookahead and lookbehind, atomic and conditional groups, comments, <c>\Z</c>, <c>\G</c>, <c>\C</c>, the ungreedy flag
/// <c>U</c> (no .NET form) and repetition counts above 1000. (RE2 itself has none of them because they have no
/// linear-time implementation.) The word boundary <c>\b</c> and the negated classes inside brackets
/// (<c>[\D]</c>) keep .NET's Unicode meaning, and .NET numbers named groups after the unnamed ones (RE2 numbers all
/// groups from left to right), which matters only to <c>$1</c>-style references in patterns that mix both.
/// </para>
/// </remarks>
internal static class Re2Regex
{
    private const int MaxRepeat = 1000;

    /// <summary>RE2's limit on group nesting (Go's regexp/syntax refuses deeper patterns).</summary>
    private const int MaxNesting = 1000;

    /// <summary>Translates and compiles a pattern.</summary>
    /// <param name="pattern">The RE2 pattern.</param>
    /// <param name="anchored">Whether the whole input must match (label matchers, relabel rules), as <c>^(?:pattern)$</c> in RE2.</param>
    /// <returns>The non-backtracking regex.</returns>
    /// <exception cref="ArgumentException">The pattern is invalid or uses a construct RE2 does not have; the message says
    /// <c>invalid regular expression '&lt;pattern&gt;': &lt;what is wrong&gt;</c>.</exception>
    public static Regex Compile(string pattern, bool anchored = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        string translated;
        try
        {
            translated = Translate(pattern);
        }
        catch (FormatException ex)
        {
            throw Invalid(pattern, ex.Message, ex);
        }

        if (anchored)
        {
            translated = "^(?:" + translated + ")\\z";
        }

        try
        {
            return new Regex(translated, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (NotSupportedException ex)
        {
            throw Invalid(pattern, "the pattern has no linear-time form (" + ex.Message + ")", ex);
        }
        catch (ArgumentException ex)
        {
            throw Invalid(pattern, ex.Message, ex);
        }
    }

    /// <summary>The names of the named groups, by group number (null for unnamed groups and group 0).</summary>
    /// <param name="regex">A compiled pattern.</param>
    /// <returns>The names.</returns>
    public static string?[] GroupNamesByNumber(Regex regex)
    {
        ArgumentNullException.ThrowIfNull(regex);
        var numbers = regex.GetGroupNumbers();
        var max = 0;
        foreach (var n in numbers)
        {
            max = Math.Max(max, n);
        }

        var names = new string?[max + 1];
        foreach (var n in numbers)
        {
            var name = regex.GroupNameFromNumber(n);
            if (n != 0 && !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                names[n] = name;
            }
        }

        return names;
    }

    /// <summary>Rewrites an RE2 pattern as an equivalent .NET pattern.</summary>
    /// <param name="pattern">The RE2 pattern.</param>
    /// <returns>The .NET pattern.</returns>
    /// <exception cref="FormatException">The pattern uses a construct RE2 does not have, or one with no .NET form.</exception>
    public static string Translate(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new Translator(pattern).Run();
    }

    private static ArgumentException Invalid(string pattern, string detail, Exception inner) =>
        new($"invalid regular expression '{pattern}': {detail}", inner);

    private sealed class Translator(string pattern)
    {
        private readonly StringBuilder _out = new(pattern.Length + 16);

        // Whether (?m) is in effect, per open group (a flag group changes it until the group closes).
        private readonly Stack<bool> _groups = new();

        // Per open group, the largest product of counted repetitions inside it: RE2 bounds nested counts together.
        private readonly Stack<int> _repeats = new();
        private int _repeat = 1;
        private int _closedGroupRepeat;
        private bool _multiline;
        private int _i;

        public string Run()
        {
            while (_i < pattern.Length)
            {
                var c = pattern[_i];
                switch (c)
                {
                    case '\\':
                        Escape(inClass: false);
                        break;
                    case '[':
                        Class();
                        break;
                    case '(':
                        Group();
                        break;
                    case ')':
                        if (_groups.Count > 0)
                        {
                            _multiline = _groups.Pop();
                            _closedGroupRepeat = _repeat;
                            _repeat = Math.Max(_repeats.Pop(), _repeat);
                        }

                        _out.Append(')');
                        _i++;
                        continue;
                    case '$':
                        // RE2's $ is the end of the text unless (?m); .NET's also matches before a final newline.
                        _out.Append(_multiline ? "$" : "\\z");
                        _i++;
                        break;
                    case '{':
                        Repeat();
                        break;
                    default:
                        _out.Append(c);
                        _i++;
                        break;
                }

                _closedGroupRepeat = 0;
            }

            return _out.ToString();
        }

        private char Peek(int offset) => _i + offset < pattern.Length ? pattern[_i + offset] : '\0';

        private void Group()
        {
            if (_groups.Count >= MaxNesting)
            {
                throw new FormatException($"expression nests too deeply at position {_i}");
            }

            _groups.Push(_multiline);
            _repeats.Push(_repeat);
            _repeat = 1;
            if (Peek(1) != '?')
            {
                _out.Append('(');
                _i++;
                return;
            }

            var at = _i;
            var next = Peek(2);
            switch (next)
            {
                case 'P' when Peek(3) == '<':
                    // Go's (?P<name>...) is .NET's (?<name>...).
                    _out.Append("(?<");
                    _i += 4;
                    return;
                case 'P' when Peek(3) == '=':
                    throw Unsupported(at, "(?P=", "RE2 has no named backreferences");
                case 'P':
                    throw Unsupported(at, "(?P" + Peek(3), "RE2 has no such group");
                case '<' when Peek(3) is '=' or '!':
                    throw Unsupported(at, "(?<" + Peek(3), "RE2 has no lookbehind");
                case '<':
                    // Go 1.22 also accepts (?<name>...).
                    _out.Append("(?<");
                    _i += 3;
                    return;
                case '=' or '!':
                    throw Unsupported(at, "(?" + next, "RE2 has no lookahead");
                case '>':
                    throw Unsupported(at, "(?>", "RE2 has no atomic groups");
                case '(':
                    throw Unsupported(at, "(?(", "RE2 has no conditional groups");
                case '#':
                    throw Unsupported(at, "(?#", "RE2 has no comments");
                case ':':
                    _out.Append("(?:");
                    _i += 3;
                    return;
            }

            // Flags: (?flags) for the rest of the group, (?flags:re) for re only.
            var j = _i + 2;
            var negate = false;
            var multiline = _multiline;
            while (j < pattern.Length && pattern[j] is not (')' or ':'))
            {
                switch (pattern[j])
                {
                    case '-':
                        negate = true;
                        break;
                    case 'm':
                        multiline = !negate;
                        break;
                    case 'i' or 's':
                        break;
                    case 'U':
                        throw Unsupported(at, "(?U)", "the ungreedy flag has no .NET form (write lazy quantifiers such as *? instead)");
                    default:
                        throw Unsupported(at, "(?" + pattern[j], "RE2 has only the flags i, m, s and U");
                }

                j++;
            }

            if (j >= pattern.Length)
            {
                throw new FormatException($"missing closing ) at position {at}");
            }

            _out.Append(pattern, _i, j - _i + 1);
            if (pattern[j] == ')')
            {
                // Not a group: the flags apply to what follows in the enclosing group.
                _groups.Pop();
                _repeat = _repeats.Pop();
            }

            _multiline = multiline;
            _i = j + 1;
        }

        private void Repeat()
        {
            // {n}, {n,}, {n,m}: RE2 limits counts to 1000; anything else is a literal brace in both dialects.
            var j = _i + 1;
            var start = j;
            while (j < pattern.Length && (char.IsAsciiDigit(pattern[j]) || pattern[j] == ','))
            {
                j++;
            }

            if (j < pattern.Length && pattern[j] == '}' && j > start && char.IsAsciiDigit(pattern[start]))
            {
                var count = 1;
                foreach (var part in pattern.AsSpan(start, j - start).ToString().Split(','))
                {
                    if (part.Length > 0 && (part.Length > 4 || int.Parse(part, CultureInfo.InvariantCulture) > MaxRepeat))
                    {
                        throw new FormatException($"invalid repeat count {{{pattern[start..j]}}} at position {_i}: RE2 allows at most {MaxRepeat}");
                    }

                    if (part.Length > 0)
                    {
                        count = Math.Max(count, int.Parse(part, CultureInfo.InvariantCulture));
                    }
                }

                // A counted group repeats what it holds: (a{100}){100} is 10,000 copies, which RE2 refuses.
                var product = (long)count * Math.Max(1, _closedGroupRepeat);
                if (product > MaxRepeat)
                {
                    throw new FormatException($"invalid repeat count {{{pattern[start..j]}}} at position {_i}: nested repetitions repeat {product} times, RE2 allows at most {MaxRepeat}");
                }

                _repeat = Math.Max(_repeat, (int)product);

                _out.Append(pattern, _i, j - _i + 1);
                _i = j + 1;
                return;
            }

            _out.Append('{');
            _i++;
        }

        private void Class()
        {
            var at = _i;

            // A whole-class negated POSIX class, [[:^alpha:]], is a negated set.
            if (Peek(1) == '[' && Peek(2) == ':' && Peek(3) == '^')
            {
                var end = pattern.IndexOf(":]]", _i + 4, StringComparison.Ordinal);
                if (end > 0)
                {
                    _out.Append("[^").Append(PosixClass(pattern[(_i + 4)..end], at)).Append(']');
                    _i = end + 3;
                    return;
                }
            }

            _out.Append('[');
            _i++;
            if (Peek(0) == '^')
            {
                _out.Append('^');
                _i++;
            }

            // A ']' right after '[' or '[^' is a literal in RE2.
            if (Peek(0) == ']')
            {
                _out.Append("\\]");
                _i++;
            }

            while (_i < pattern.Length)
            {
                var c = pattern[_i];
                if (c == ']')
                {
                    _out.Append(']');
                    _i++;
                    return;
                }

                if (c == '\\')
                {
                    Escape(inClass: true);
                    continue;
                }

                if (c == '[' && Peek(1) == ':')
                {
                    var end = pattern.IndexOf(":]", _i + 2, StringComparison.Ordinal);
                    if (end > 0)
                    {
                        var name = pattern[(_i + 2)..end];
                        if (name.StartsWith('^'))
                        {
                            throw Unsupported(_i, "[:" + name + ":]", "a negated POSIX class inside a larger class has no .NET form (write [^...] or a separate class)");
                        }

                        _out.Append(PosixClass(name, _i));
                        _i = end + 2;
                        continue;
                    }
                }

                // .NET reads [a-[b]] as class subtraction; in RE2 the '[' is a literal.
                if (c == '[')
                {
                    _out.Append("\\[");
                    _i++;
                    continue;
                }

                _out.Append(c);
                _i++;
            }

            throw new FormatException($"missing closing ] at position {at}");
        }

        private void Escape(bool inClass)
        {
            var at = _i;
            if (_i + 1 >= pattern.Length)
            {
                throw new FormatException($"trailing backslash at position {at}");
            }

            var next = pattern[_i + 1];
            _i += 2;
            switch (next)
            {
                case 'Q' when !inClass:
                    {
                        var end = pattern.IndexOf("\\E", _i, StringComparison.Ordinal);
                        var literal = end < 0 ? pattern[_i..] : pattern[_i..end];
                        _out.Append(Regex.Escape(literal));
                        _i = end < 0 ? pattern.Length : end + 2;
                        return;
                    }

                case 'p' or 'P' when Peek(0) != '{':
                    // RE2 allows one-letter classes without braces (\pL); .NET needs \p{L}.
                    if (_i >= pattern.Length)
                    {
                        throw new FormatException($"missing Unicode class name after \\{next} at position {at}");
                    }

                    _out.Append('\\').Append(next).Append('{').Append(pattern[_i]).Append('}');
                    _i++;
                    return;
                case 'd':
                    _out.Append(inClass ? "0-9" : "[0-9]");
                    return;
                case 'w':
                    _out.Append(inClass ? "0-9A-Za-z_" : "[0-9A-Za-z_]");
                    return;
                case 's':
                    _out.Append(inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
                    return;
                case 'D' when !inClass:
                    _out.Append("[^0-9]");
                    return;
                case 'W' when !inClass:
                    _out.Append("[^0-9A-Za-z_]");
                    return;
                case 'S' when !inClass:
                    _out.Append("[^\\t\\n\\f\\r ]");
                    return;
                case 'x' when Peek(0) == '{':
                    {
                        var end = pattern.IndexOf('}', _i);
                        if (end < 0 || !int.TryParse(pattern.AsSpan(_i + 1, end - _i - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                            || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
                        {
                            throw new FormatException($"invalid escape \\x{{...}} at position {at}");
                        }

                        AppendCodePoint(code);
                        _i = end + 1;
                        return;
                    }

                case >= '0' and <= '7':
                    {
                        // Octal: \0, \0d, \0dd, \nd, \ndd; a single non-zero digit is a backreference in other dialects.
                        var digits = 1;
                        while (digits < 3 && _i < pattern.Length && pattern[_i] is >= '0' and <= '7')
                        {
                            _i++;
                            digits++;
                        }

                        if (next != '0' && digits == 1)
                        {
                            throw Unsupported(at, "\\" + next, "RE2 has no backreferences");
                        }

                        AppendCodePoint(Convert.ToInt32(pattern.Substring(at + 1, digits), 8));
                        return;
                    }

                case '8' or '9':
                    throw Unsupported(at, "\\" + next, "RE2 has no backreferences");
                case 'k':
                    throw Unsupported(at, "\\k", "RE2 has no named backreferences");
                case 'Z':
                    throw Unsupported(at, "\\Z", "RE2 has no \\Z (write \\z or $)");
                case 'G':
                    throw Unsupported(at, "\\G", "RE2 has no \\G");
                case 'C':
                    throw Unsupported(at, "\\C", "a single-byte match has no .NET form");
                case 'e' or 'c' or 'u' or 'R' or 'X' or 'K' or 'h' or 'H' or 'V' or 'N' or 'o':
                    throw Unsupported(at, "\\" + next, "RE2 has no such escape");
                default:
                    _out.Append('\\').Append(next);
                    return;
            }
        }

        private void AppendCodePoint(int code)
        {
            foreach (var unit in char.ConvertFromUtf32(code))
            {
                _out.Append("\\u").Append(((int)unit).ToString("X4", CultureInfo.InvariantCulture));
            }
        }

        private static FormatException Unsupported(int position, string construct, string reason) =>
            new($"{construct} at position {position} is not supported: {reason}");

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
    }
}
