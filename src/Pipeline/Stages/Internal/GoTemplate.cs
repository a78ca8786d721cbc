using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.Stages.Internal;

/// <summary>
/// The subset of Go's <c>text/template</c> that Promtail configs use, parsed once: text, <c>{{ .Field }}</c>,
/// <c>{{ . }}</c>, string/number/bool literals, function calls and pipelines (<c>{{ .Value | ToUpper }}</c>),
/// <c>{{ if }} {{ else if }} {{ else }} {{ end }}</c>, and <c>{{-</c>/<c>-}}</c> trimming. Functions: ToUpper, ToLower,
/// Replace, Trim, TrimLeft, TrimRight, TrimPrefix, TrimSuffix, TrimSpace, regexReplaceAll, regexReplaceAllLiteral,
/// contains, hasPrefix, hasSuffix, eq, ne, not, and, or, default.
/// </summary>
/// <remarks>
/// As in Go with map data, a missing field prints <c>&lt;no value&gt;</c>, and passing it to a function is an execution
/// error (the stage then leaves its value unchanged).
/// </remarks>
internal sealed class GoTemplate
{
    private const string NoValue = "<no value>";

    private static readonly HashSet<string> s_functions = new(StringComparer.Ordinal)
    {
        "ToUpper", "ToLower", "Replace", "Trim", "TrimLeft", "TrimRight", "TrimPrefix", "TrimSuffix", "TrimSpace",
        "regexReplaceAll", "regexReplaceAllLiteral", "contains", "hasPrefix", "hasSuffix", "eq", "ne", "not", "and", "or", "default",
    };

    private readonly List<Node> _nodes;
    private readonly Dictionary<string, Regex> _regexes;

    private GoTemplate(List<Node> nodes, Dictionary<string, Regex> regexes)
    {
        _nodes = nodes;
        _regexes = regexes;
    }

    /// <summary>Parses a template.</summary>
    /// <exception cref="FormatException">The template is malformed or uses an unknown function; the message says where.</exception>
    public static GoTemplate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var regexes = new Dictionary<string, Regex>(StringComparer.Ordinal);
        var parser = new Parser(text, regexes);
        var nodes = parser.ParseList(out var end);
        if (end is not null)
        {
            throw new FormatException($"unexpected {{{{{end}}}}} in template");
        }

        return new GoTemplate(nodes, regexes);
    }

    /// <summary>Runs the template.</summary>
    /// <param name="output">Where the text goes.</param>
    /// <param name="lookup">Resolves <c>.Name</c> (null when missing); <c>.</c> resolves the name "".</param>
    /// <returns>Whether it ran without an execution error.</returns>
    public bool TryExecute(StringBuilder output, Func<string, string?> lookup)
    {
        try
        {
            Run(_nodes, output, lookup);
            return true;
        }
        catch (TemplateExecutionException)
        {
            return false;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private void Run(List<Node> nodes, StringBuilder output, Func<string, string?> lookup)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case ActionNode action:
                    output.Append(Format(Evaluate(action.Pipeline, lookup)));
                    break;
                case IfNode branch:
                    var chosen = branch.Else;
                    foreach (var (condition, body) in branch.Branches)
                    {
                        if (Truthy(Evaluate(condition, lookup)))
                        {
                            chosen = body;
                            break;
                        }
                    }

                    if (chosen is not null)
                    {
                        Run(chosen, output, lookup);
                    }

                    break;
            }
        }
    }

    private static string Format(object? value) => value switch
    {
        null => NoValue,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => (string)value,
    };

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        string s => s.Length > 0,
        _ => true,
    };

    private object? Evaluate(List<Command> pipeline, Func<string, string?> lookup)
    {
        object? result = null;
        for (var i = 0; i < pipeline.Count; i++)
        {
            var command = pipeline[i];
            if (command.Function is null)
            {
                if (i > 0)
                {
                    throw new TemplateExecutionException("a value cannot take piped input");
                }

                result = Resolve(command.Args[0], lookup);
                continue;
            }

            var args = new object?[command.Args.Count + (i > 0 ? 1 : 0)];
            for (var a = 0; a < command.Args.Count; a++)
            {
                args[a] = Resolve(command.Args[a], lookup);
            }

            if (i > 0)
            {
                args[^1] = result;
            }

            result = Call(command.Function, args);
        }

        return result;
    }

    private static object? Resolve(Operand operand, Func<string, string?> lookup) => operand.Field is not null ? lookup(operand.Field) : operand.Literal;

    private object? Call(string function, object?[] args)
    {
        switch (function)
        {
            case "eq":
                Arity(function, args, 2, int.MaxValue);
                for (var i = 1; i < args.Length; i++)
                {
                    if (Equals(args[0], args[i]))
                    {
                        return true;
                    }
                }

                return false;
            case "ne":
                Arity(function, args, 2, 2);
                return !Equals(args[0], args[1]);
            case "not":
                Arity(function, args, 1, 1);
                return !Truthy(args[0]);
            case "and":
                Arity(function, args, 1, int.MaxValue);
                foreach (var arg in args)
                {
                    if (!Truthy(arg))
                    {
                        return arg;
                    }
                }

                return args[^1];
            case "or":
                Arity(function, args, 1, int.MaxValue);
                foreach (var arg in args)
                {
                    if (Truthy(arg))
                    {
                        return arg;
                    }
                }

                return args[^1];
            case "default":
                // sprig: default DEFAULT VALUE
                Arity(function, args, 2, 2);
                return Truthy(args[1]) ? args[1] : args[0];
        }

        var s = args.Length > 0 ? Str(function, args[0]) : string.Empty;
        switch (function)
        {
            case "ToUpper":
                Arity(function, args, 1, 1);
                return s.ToUpperInvariant();
            case "ToLower":
                Arity(function, args, 1, 1);
                return s.ToLowerInvariant();
            case "TrimSpace":
                Arity(function, args, 1, 1);
                return s.Trim();
            case "Replace":
                Arity(function, args, 4, 4);
                return GoReplace(s, Str(function, args[1]), Str(function, args[2]), args[3] is long n ? n : throw new TemplateExecutionException("Replace: the count must be a number"));
            case "Trim":
                Arity(function, args, 2, 2);
                return s.Trim(Str(function, args[1]).ToCharArray());
            case "TrimLeft":
                Arity(function, args, 2, 2);
                return s.TrimStart(Str(function, args[1]).ToCharArray());
            case "TrimRight":
                Arity(function, args, 2, 2);
                return s.TrimEnd(Str(function, args[1]).ToCharArray());
            case "TrimPrefix":
                Arity(function, args, 2, 2);
                var prefix = Str(function, args[1]);
                return s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;
            case "TrimSuffix":
                Arity(function, args, 2, 2);
                var suffix = Str(function, args[1]);
                return s.EndsWith(suffix, StringComparison.Ordinal) ? s[..^suffix.Length] : s;
            case "contains":
                // sprig order: contains SUBSTR STRING
                Arity(function, args, 2, 2);
                return Str(function, args[1]).Contains(s, StringComparison.Ordinal);
            case "hasPrefix":
                Arity(function, args, 2, 2);
                return Str(function, args[1]).StartsWith(s, StringComparison.Ordinal);
            case "hasSuffix":
                Arity(function, args, 2, 2);
                return Str(function, args[1]).EndsWith(s, StringComparison.Ordinal);
            case "regexReplaceAll":
            case "regexReplaceAllLiteral":
            {
                // Promtail order: regexReplaceAll REGEX SOURCE REPLACEMENT
                Arity(function, args, 3, 3);
                var regex = _regexes.TryGetValue(s, out var compiled) ? compiled : throw new TemplateExecutionException($"{function}: the regex must be a literal");
                var input = Str(function, args[1]);
                var replacement = Str(function, args[2]);
                if (function == "regexReplaceAllLiteral")
                {
                    return regex.Replace(input, replacement.Replace("$", "$$", StringComparison.Ordinal));
                }

                var sb = new StringBuilder();
                var last = 0;
                for (var m = regex.Match(input); m.Success; m = m.NextMatch())
                {
                    sb.Append(input, last, m.Index - last);
                    Re2Expand.Expand(sb, replacement, regex, m);
                    last = m.Index + m.Length;
                }

                sb.Append(input, last, input.Length - last);
                return sb.ToString();
            }

            default:
                throw new TemplateExecutionException($"unknown function {function}");
        }
    }

    private static string GoReplace(string s, string old, string replacement, long n)
    {
        if (n < 0)
        {
            return old.Length == 0 ? s : s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var sb = new StringBuilder();
        var start = 0;
        for (var done = 0L; done < n && old.Length > 0; done++)
        {
            var at = s.IndexOf(old, start, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            sb.Append(s, start, at - start).Append(replacement);
            start = at + old.Length;
        }

        return sb.Append(s, start, s.Length - start).ToString();
    }

    private static void Arity(string function, object?[] args, int min, int max)
    {
        if (args.Length < min || args.Length > max)
        {
            throw new TemplateExecutionException($"wrong number of arguments for {function}: {args.Length}");
        }
    }

    private static string Str(string function, object? value) => value switch
    {
        string s => s,
        null => throw new TemplateExecutionException($"{function}: invalid value; expected string"),
        _ => Format(value),
    };

    private abstract record Node;

    private sealed record TextNode(string Text) : Node;

    private sealed record ActionNode(List<Command> Pipeline) : Node;

    private sealed record IfNode(List<(List<Command> Condition, List<Node> Body)> Branches, List<Node>? Else) : Node;

    private sealed record Command(string? Function, List<Operand> Args);

    private sealed record Operand(string? Field, object? Literal);

    private sealed class TemplateExecutionException(string message) : Exception(message);

    private sealed class Parser(string text, Dictionary<string, Regex> regexes)
    {
        private int _position;
        private bool _trimNextText;

        /// <summary>Parses nodes until end of text or an {{else}}/{{end}} (returned in <paramref name="end"/>).</summary>
        public List<Node> ParseList(out string? end)
        {
            var nodes = new List<Node>();
            while (_position < text.Length)
            {
                var open = text.IndexOf("{{", _position, StringComparison.Ordinal);
                var chunk = open < 0 ? text[_position..] : text[_position..open];
                if (_trimNextText)
                {
                    chunk = chunk.TrimStart();
                    _trimNextText = false;
                }

                if (open < 0)
                {
                    AddText(nodes, chunk);
                    _position = text.Length;
                    break;
                }

                var trimLeft = open + 2 < text.Length && text[open + 2] == '-' && open + 3 < text.Length && char.IsWhiteSpace(text[open + 3]);
                if (trimLeft)
                {
                    chunk = chunk.TrimEnd();
                }

                AddText(nodes, chunk);
                var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new FormatException($"unclosed action at position {open}");
                }

                var inner = text[(open + (trimLeft ? 3 : 2))..close];
                if (inner.EndsWith('-') && inner.Length >= 2 && char.IsWhiteSpace(inner[^2]))
                {
                    inner = inner[..^1];
                    _trimNextText = true;
                }

                _position = close + 2;
                inner = inner.Trim();
                if (inner.StartsWith("/*", StringComparison.Ordinal))
                {
                    continue;
                }

                var words = Tokenize(inner, open);
                if (words.Count == 0)
                {
                    throw new FormatException($"missing value for command at position {open}");
                }

                switch (words[0])
                {
                    case "end":
                        end = "end";
                        return nodes;
                    case "else":
                        end = words.Count > 1 && words[1] == "if" ? "else if " + string.Join(' ', words.Skip(2)) : "else";
                        _pendingElseIf = words.Count > 1 && words[1] == "if" ? words.Skip(2).ToList() : null;
                        return nodes;
                    case "if":
                        nodes.Add(ParseIf(words.Skip(1).ToList(), open));
                        break;
                    case "range" or "with" or "define" or "template" or "block":
                        throw new FormatException($"'{words[0]}' is not supported in templates (position {open})");
                    default:
                        nodes.Add(new ActionNode(ParsePipeline(words, open)));
                        break;
                }
            }

            end = null;
            return nodes;
        }

        private List<string>? _pendingElseIf;

        private IfNode ParseIf(List<string> condition, int position)
        {
            var branches = new List<(List<Command>, List<Node>)>();
            List<Node>? elseBody = null;
            var current = condition;
            while (true)
            {
                var body = ParseList(out var end);
                branches.Add((ParsePipeline(current, position), body));
                if (end is null)
                {
                    throw new FormatException($"unclosed {{{{if}}}} at position {position}");
                }

                if (end == "end")
                {
                    break;
                }

                if (_pendingElseIf is { } next)
                {
                    _pendingElseIf = null;
                    current = next;
                    continue;
                }

                elseBody = ParseList(out end);
                if (end != "end")
                {
                    throw new FormatException($"expected {{{{end}}}} after {{{{else}}}} (if at position {position})");
                }

                break;
            }

            return new IfNode(branches, elseBody);
        }

        private List<Command> ParsePipeline(List<string> words, int position)
        {
            var commands = new List<Command>();
            var current = new List<string>();
            foreach (var word in words)
            {
                if (word == "|")
                {
                    commands.Add(ParseCommand(current, position));
                    current = [];
                }
                else
                {
                    current.Add(word);
                }
            }

            commands.Add(ParseCommand(current, position));
            return commands;
        }

        private Command ParseCommand(List<string> words, int position)
        {
            if (words.Count == 0)
            {
                throw new FormatException($"missing command in pipeline at position {position}");
            }

            var first = words[0];
            if (IsIdentifier(first))
            {
                if (!s_functions.Contains(first))
                {
                    throw new FormatException($"function \"{first}\" not defined (position {position}); available: {string.Join(", ", s_functions)}");
                }

                var args = words.Skip(1).Select(w => ParseOperand(w, position)).ToList();
                if (first is "regexReplaceAll" or "regexReplaceAllLiteral" && args.Count > 0 && args[0].Literal is string pattern && !regexes.ContainsKey(pattern))
                {
                    regexes[pattern] = OptionRegex.Compile(pattern, "template", "template");
                }

                return new Command(first, args);
            }

            if (words.Count > 1)
            {
                throw new FormatException($"can't give argument to non-function {first} (position {position})");
            }

            return new Command(null, [ParseOperand(first, position)]);
        }

        private static Operand ParseOperand(string word, int position)
        {
            if (word == ".")
            {
                return new Operand(string.Empty, null);
            }

            if (word.StartsWith('.'))
            {
                var name = word[1..];
                if (name.Contains('.', StringComparison.Ordinal) || name.Length == 0)
                {
                    throw new FormatException($"unsupported field chain {word} (position {position})");
                }

                return new Operand(name, null);
            }

            if (word.StartsWith('"') || word.StartsWith('`'))
            {
                return new Operand(null, word[1..^1]);
            }

            if (word is "true" or "false")
            {
                return new Operand(null, word == "true");
            }

            if (long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                return new Operand(null, number);
            }

            throw new FormatException($"unexpected \"{word}\" in command (position {position})");
        }

        private static bool IsIdentifier(string word) => word.Length > 0 && (char.IsAsciiLetter(word[0]) || word[0] == '_') && word is not ("true" or "false");

        /// <summary>Splits an action into words: quoted strings (unescaped, quotes kept as markers), '|', and bare words.</summary>
        private static List<string> Tokenize(string inner, int position)
        {
            var words = new List<string>();
            var i = 0;
            while (i < inner.Length)
            {
                var c = inner[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }

                if (c == '|')
                {
                    words.Add("|");
                    i++;
                    continue;
                }

                if (c == '(' || c == ')')
                {
                    throw new FormatException($"parenthesized pipelines are not supported (position {position})");
                }

                if (c == '"')
                {
                    var sb = new StringBuilder("\"");
                    i++;
                    while (i < inner.Length && inner[i] != '"')
                    {
                        if (inner[i] == '\\' && i + 1 < inner.Length)
                        {
                            i++;
                            sb.Append(inner[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => inner[i] });
                        }
                        else
                        {
                            sb.Append(inner[i]);
                        }

                        i++;
                    }

                    if (i >= inner.Length)
                    {
                        throw new FormatException($"unterminated quoted string (position {position})");
                    }

                    words.Add(sb.Append('"').ToString());
                    i++;
                    continue;
                }

                if (c == '`')
                {
                    var endQuote = inner.IndexOf('`', i + 1);
                    if (endQuote < 0)
                    {
                        throw new FormatException($"unterminated raw string (position {position})");
                    }

                    words.Add(inner[i..(endQuote + 1)]);
                    i = endQuote + 1;
                    continue;
                }

                var start = i;
                while (i < inner.Length && !char.IsWhiteSpace(inner[i]) && inner[i] != '|')
                {
                    i++;
                }

                words.Add(inner[start..i]);
            }

            return words;
        }

        private static void AddText(List<Node> nodes, string chunk)
        {
            if (chunk.Length > 0)
            {
                nodes.Add(new TextNode(chunk));
            }
        }
    }
}
