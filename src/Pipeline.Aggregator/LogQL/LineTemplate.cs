using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The subset of Go's text/template that <c>line_format</c> and <c>label_format</c> use: literal text, <c>{{.label}}</c>,
/// pipelines (<c>{{ .a | ToUpper }}</c>), function calls (<c>ToUpper</c>, <c>ToLower</c>, <c>Replace</c>, <c>TrimSpace</c>,
/// <c>regexReplaceAll</c>, <c>printf</c>, <c>default</c>, <c>trimPrefix</c>, <c>trimSuffix</c>, <c>__line__</c>,
/// <c>__timestamp__</c>), string and number literals and <c>{{-</c>/<c>-}}</c> trimming. Parsed once, rendered per entry.
/// </summary>
internal sealed class LineTemplate
{
    private static readonly HashSet<string> s_functions =
    [
        "ToUpper", "ToLower", "upper", "lower", "TrimSpace", "trim", "Replace", "replace", "regexReplaceAll",
        "regexReplaceAllLiteral", "printf", "default", "trimPrefix", "trimSuffix", "title", "__line__", "__timestamp__",
    ];

    private readonly List<object> _parts;
    private readonly Dictionary<string, Regex> _regexes = new(StringComparer.Ordinal);
    private readonly StringBuilder _builder = new();

    private LineTemplate(List<object> parts) => _parts = parts;

    /// <summary>Whether the template is plain text or references only labels (no line, no timestamp).</summary>
    public bool IsConstant => _parts.TrueForAll(static p => p is string);

    /// <summary>Parses a template.</summary>
    /// <exception cref="FormatException">The template is malformed or calls an unknown function.</exception>
    public static LineTemplate Parse(string text)
    {
        List<object> parts = [];
        var pos = 0;
        while (pos < text.Length)
        {
            var open = text.IndexOf("{{", pos, StringComparison.Ordinal);
            if (open < 0)
            {
                parts.Add(text[pos..]);
                break;
            }

            var literal = text[pos..open];
            var start = open + 2;
            if (start < text.Length && text[start] == '-' && start + 1 < text.Length && char.IsWhiteSpace(text[start + 1]))
            {
                literal = literal.TrimEnd();
                start++;
            }

            if (literal.Length > 0)
            {
                parts.Add(literal);
            }

            var close = FindClose(text, start);
            if (close < 0)
            {
                throw new FormatException($"invalid template: unclosed action at position {open}");
            }

            var end = close;
            var trimAfter = false;
            if (end > start && text[end - 1] == '-' && end - 2 >= start && char.IsWhiteSpace(text[end - 2]))
            {
                end--;
                trimAfter = true;
            }

            parts.Add(ParsePipeline(text[start..end].Trim(), text));
            pos = close + 2;
            if (trimAfter)
            {
                while (pos < text.Length && char.IsWhiteSpace(text[pos]))
                {
                    pos++;
                }
            }
        }

        return new LineTemplate(parts);
    }

    private static int FindClose(string text, int start)
    {
        var quote = '\0';
        for (var i = start; i < text.Length - 1; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == '\\' && quote == '"')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '`')
            {
                quote = c;
            }
            else if (c == '}' && text[i + 1] == '}')
            {
                return i;
            }
        }

        return -1;
    }

    private sealed record Operand(char Kind, string Value);

    private static List<List<Operand>> ParsePipeline(string action, string template)
    {
        if (action.Length == 0)
        {
            throw new FormatException($"invalid template '{template}': missing value for command");
        }

        if (action.StartsWith("if ", StringComparison.Ordinal) || action is "end" or "else" || action.StartsWith("range ", StringComparison.Ordinal))
        {
            throw new FormatException($"invalid template '{template}': '{{{{{action}}}}}' is not supported (only values, pipelines and functions)");
        }

        List<List<Operand>> commands = [[]];
        var i = 0;
        while (i < action.Length)
        {
            var c = action[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '|')
            {
                commands.Add([]);
                i++;
                continue;
            }

            if (c is '"' or '`')
            {
                var (value, next) = ReadString(action, i, template);
                commands[^1].Add(new Operand('s', value));
                i = next;
                continue;
            }

            var startToken = i;
            while (i < action.Length && !char.IsWhiteSpace(action[i]) && action[i] != '|')
            {
                i++;
            }

            var token = action[startToken..i];
            if (token[0] == '.')
            {
                commands[^1].Add(new Operand('.', token[1..]));
            }
            else if (char.IsAsciiDigit(token[0]) || token[0] == '-')
            {
                commands[^1].Add(new Operand('s', token));
            }
            else if (s_functions.Contains(token))
            {
                commands[^1].Add(new Operand('f', token));
            }
            else
            {
                throw new FormatException($"invalid template '{template}': function \"{token}\" not defined");
            }
        }

        foreach (var command in commands)
        {
            if (command.Count == 0)
            {
                throw new FormatException($"invalid template '{template}': missing value for command");
            }
        }

        return commands;
    }

    private static (string Value, int Next) ReadString(string action, int start, string template)
    {
        var quote = action[start];
        var builder = new StringBuilder();
        var i = start + 1;
        while (i < action.Length)
        {
            var c = action[i++];
            if (c == quote)
            {
                return (builder.ToString(), i);
            }

            if (c == '\\' && quote == '"' && i < action.Length)
            {
                var e = action[i++];
                builder.Append(e switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => e,
                });
                continue;
            }

            builder.Append(c);
        }

        throw new FormatException($"invalid template '{template}': unterminated quoted string");
    }

    /// <summary>Renders the template over the entry's labels and line.</summary>
    /// <exception cref="FormatException">A function failed (bad regex, bad printf argument).</exception>
    public string Render(LabelsBuilder labels, LineState line)
    {
        _builder.Clear();
        foreach (var part in _parts)
        {
            if (part is string literal)
            {
                _builder.Append(literal);
                continue;
            }

            string? piped = null;
            foreach (var command in (List<List<Operand>>)part)
            {
                piped = Execute(command, piped, labels, line);
            }

            _builder.Append(piped);
        }

        return _builder.ToString();
    }

    private string Execute(List<Operand> command, string? piped, LabelsBuilder labels, LineState line)
    {
        var head = command[0];
        if (head.Kind != 'f')
        {
            if (command.Count > 1 || piped is not null)
            {
                throw new FormatException($"can't give argument to non-function {head.Value}");
            }

            return Value(head, labels, line);
        }

        var args = new List<string>(command.Count);
        for (var i = 1; i < command.Count; i++)
        {
            args.Add(Value(command[i], labels, line));
        }

        if (piped is not null)
        {
            args.Add(piped);
        }

        return Call(head.Value, args, line);
    }

    private static string Value(Operand operand, LabelsBuilder labels, LineState line) => operand.Kind switch
    {
        '.' => labels.Get(operand.Value) ?? string.Empty,
        'f' when operand.Value == "__line__" => line.Text,
        'f' when operand.Value == "__timestamp__" => FormatTimestamp(line.Timestamp),
        'f' => throw new FormatException($"function {operand.Value} used as a value"),
        _ => operand.Value,
    };

    private static string FormatTimestamp(long ns) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ns / 1_000_000).AddTicks(ns % 1_000_000 / 100).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture);

    private string Call(string name, List<string> args, LineState line)
    {
        switch (name)
        {
            case "__line__":
                return line.Text;
            case "__timestamp__":
                return FormatTimestamp(line.Timestamp);
            case "ToUpper" or "upper":
                return Arg(name, args, 1, 0).ToUpperInvariant();
            case "ToLower" or "lower":
                return Arg(name, args, 1, 0).ToLowerInvariant();
            case "TrimSpace" or "trim":
                return Arg(name, args, 1, 0).Trim();
            case "title":
                {
                    var s = Arg(name, args, 1, 0);
                    return s.Length == 0 ? s : CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s);
                }

            case "Replace":
                {
                    // Go strings.Replace(s, old, new, n): n < 0 replaces all.
                    var s = Arg(name, args, 4, 0);
                    var old = args[1];
                    var replacement = args[2];
                    if (!int.TryParse(args[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                    {
                        throw new FormatException($"Replace: invalid count '{args[3]}'");
                    }

                    return ReplaceN(s, old, replacement, n);
                }

            case "replace":
                {
                    // sprig: replace old new s.
                    Arg(name, args, 3, 0);
                    return args[2].Replace(args[0], args[1], StringComparison.Ordinal);
                }

            case "regexReplaceAll" or "regexReplaceAllLiteral":
                {
                    Arg(name, args, 3, 0);
                    if (!_regexes.TryGetValue(args[0], out var regex))
                    {
                        try
                        {
                            regex = Re2Regex.Compile(args[0]);
                        }
                        catch (ArgumentException ex)
                        {
                            throw new FormatException(ex.Message, ex);
                        }

                        _regexes[args[0]] = regex;
                    }

                    return name == "regexReplaceAll"
                        ? regex.Replace(args[1], args[2])
                        : regex.Replace(args[1], args[2].Replace("$", "$$", StringComparison.Ordinal));
                }

            case "default":
                Arg(name, args, 2, 0);
                return args[1].Length == 0 ? args[0] : args[1];
            case "trimPrefix":
                Arg(name, args, 2, 0);
                return args[1].StartsWith(args[0], StringComparison.Ordinal) ? args[1][args[0].Length..] : args[1];
            case "trimSuffix":
                Arg(name, args, 2, 0);
                return args[1].EndsWith(args[0], StringComparison.Ordinal) ? args[1][..^args[0].Length] : args[1];
            case "printf":
                if (args.Count == 0)
                {
                    throw new FormatException("wrong number of args for printf: want at least 1 got 0");
                }

                return Printf(args[0], args, 1);
            default:
                throw new FormatException($"function \"{name}\" not defined");
        }
    }

    private static string Arg(string name, List<string> args, int count, int index)
    {
        if (args.Count != count)
        {
            throw new FormatException($"wrong number of args for {name}: want {count} got {args.Count}");
        }

        return args[index];
    }

    private static string ReplaceN(string s, string old, string replacement, int n)
    {
        if (n < 0)
        {
            return old.Length == 0 ? s : s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var builder = new StringBuilder();
        var pos = 0;
        for (var i = 0; i < n && old.Length > 0; i++)
        {
            var at = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            builder.Append(s, pos, at - pos).Append(replacement);
            pos = at + old.Length;
        }

        return builder.Append(s, pos, s.Length - pos).ToString();
    }

    /// <summary>A minimal Go fmt.Sprintf: %s %v %q %d %f (with precision) and %%.</summary>
    internal static string Printf(string format, List<string> args, int first)
    {
        var builder = new StringBuilder();
        var argIndex = first;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                builder.Append(c);
                continue;
            }

            var j = i + 1;
            var precision = -1;
            if (format[j] == '.')
            {
                j++;
                var startDigits = j;
                while (j < format.Length && char.IsAsciiDigit(format[j]))
                {
                    j++;
                }

                precision = int.Parse(format.AsSpan(startDigits, j - startDigits), CultureInfo.InvariantCulture);
            }

            if (j >= format.Length)
            {
                builder.Append(format, i, j - i);
                break;
            }

            var verb = format[j];
            i = j;
            if (verb == '%')
            {
                builder.Append('%');
                continue;
            }

            if (argIndex >= args.Count)
            {
                builder.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            var arg = args[argIndex++];
            switch (verb)
            {
                case 's' or 'v':
                    builder.Append(arg);
                    break;
                case 'q':
                    builder.Append(LabelText.Quote(arg));
                    break;
                case 'd':
                    builder.Append(double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                        ? ((long)d).ToString(CultureInfo.InvariantCulture)
                        : "%!d(string=" + arg + ")");
                    break;
                case 'f' or 'g' or 'e':
                    builder.Append(double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out var f)
                        ? f.ToString((verb == 'f' ? "F" : verb == 'e' ? "E" : "G") + (precision >= 0 ? precision : verb == 'g' ? string.Empty : 6), CultureInfo.InvariantCulture)
                        : "%!" + verb + "(string=" + arg + ")");
                    break;
                default:
                    builder.Append("%!").Append(verb).Append("(string=").Append(arg).Append(')');
                    break;
            }
        }

        return builder.ToString();
    }
}
