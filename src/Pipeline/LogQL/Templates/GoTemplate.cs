using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.LogQL.Templates;

/// <summary>
/// The one Go <c>text/template</c> engine of the log language, parsed once and rendered per entry: Promtail's
/// <c>template</c> and <c>replace</c> stages and LogQL's <c>line_format</c> and <c>label_format</c>, each with its
/// <see cref="TemplateFunctions"/> set. Supported: text, <c>{{ .Field }}</c>, <c>{{ . }}</c>, string (quoted and raw),
/// integer, float and boolean literals, function calls and pipelines (<c>{{ .Value | ToUpper }}</c>), niladic
/// functions as arguments, <c>{{ if }} {{ else if }} {{ else }} {{ end }}</c>, comments and <c>{{-</c>/<c>-}}</c>
/// trimming. Not supported (an error at parse time): <c>range</c>, <c>with</c>, <c>define</c>, <c>template</c>,
/// <c>block</c>, variables, parenthesized pipelines and field chains (<c>.a.b</c>).
/// </summary>
/// <remarks>
/// What a missing field means is up to the <see cref="ITemplateData"/>: <see langword="null"/> prints
/// <c>&lt;no value&gt;</c> and is an execution error as a function argument (Go with map data: Promtail), "" is Go's
/// <c>missingkey=zero</c> (LogQL). Regex arguments that are literals are compiled (RE2, linear time) with the
/// template, so a bad one is a parse error. Rendering reuses per-command argument buffers: one instance renders one
/// entry at a time.
/// </remarks>
internal sealed class GoTemplate
{
    /// <summary>What Go prints for a missing value.</summary>
    public const string NoValue = "<no value>";

    /// <summary>The deepest nesting of blocks (<c>{{if}}</c>, <c>{{range}}</c>) accepted; parsing and rendering recurse over it.</summary>
    public const int MaxDepth = 256;

    private const int MaxRuntimeRegexes = 64;

    private readonly Node[] _nodes;
    private readonly Dictionary<string, Regex> _regexes;

    private GoTemplate(Node[] nodes, Dictionary<string, Regex> regexes)
    {
        _nodes = nodes;
        _regexes = regexes;
    }

    /// <summary>Parses a template.</summary>
    /// <param name="text">The template text.</param>
    /// <param name="functions">The functions it may call.</param>
    /// <returns>The template.</returns>
    /// <exception cref="FormatException">The template is malformed, calls a function the set does not have, or has an invalid literal regex; the message says what and where.</exception>
    public static GoTemplate Parse(string text, TemplateFunctions functions)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(functions);
        var regexes = new Dictionary<string, Regex>(StringComparer.Ordinal);
        var parser = new Parser(text, functions, regexes);
        var nodes = parser.ParseList(out var end);
        if (end is not null)
        {
            throw new FormatException($"unexpected {{{{{end}}}}}");
        }

        return new GoTemplate([.. nodes], regexes);
    }

    /// <summary>Renders the template for one entry.</summary>
    /// <param name="output">Where the text goes (appended).</param>
    /// <param name="data">The entry's fields.</param>
    /// <param name="error">On failure, what went wrong (Go's execution error).</param>
    /// <returns>Whether it rendered without an execution error.</returns>
    public bool TryRender(StringBuilder output, ITemplateData data, out string? error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            Run(_nodes, output, data);
            error = null;
            return true;
        }
        catch (TemplateExecutionException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    internal static string Format(object? value) => value switch
    {
        null => NoValue,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Units.GoNumber.Format(d),
        _ => value.ToString() ?? string.Empty,
    };

    internal static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        _ => true,
    };

    /// <summary>A pattern given at run time (not a literal): compiled once, a bounded number kept.</summary>
    internal Regex GetRegex(string pattern)
    {
        if (_regexes.TryGetValue(pattern, out var regex))
        {
            return regex;
        }

        try
        {
            regex = Re2Regex.Compile(pattern);
        }
        catch (ArgumentException ex)
        {
            throw new TemplateExecutionException(ex.Message, ex);
        }

        if (_regexes.Count < MaxRuntimeRegexes)
        {
            _regexes[pattern] = regex;
        }

        return regex;
    }

    private void Run(Node[] nodes, StringBuilder output, ITemplateData data)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case ActionNode action:
                    output.Append(Format(Evaluate(action.Pipeline, data)));
                    break;
                case IfNode branch:
                    var chosen = branch.Else;
                    foreach (var (condition, body) in branch.Branches)
                    {
                        if (Truthy(Evaluate(condition, data)))
                        {
                            chosen = body;
                            break;
                        }
                    }

                    if (chosen is not null)
                    {
                        Run(chosen, output, data);
                    }

                    break;
            }
        }
    }

    private object? Evaluate(Command[] pipeline, ITemplateData data)
    {
        object? result = null;
        for (var i = 0; i < pipeline.Length; i++)
        {
            var command = pipeline[i];
            if (command.Function is null)
            {
                if (i > 0)
                {
                    throw new TemplateExecutionException($"can't give argument to non-function {command.Args[0]}");
                }

                result = Resolve(command.Args[0], data);
                continue;
            }

            var args = command.Buffer;
            for (var a = 0; a < command.Args.Length; a++)
            {
                args[a] = Resolve(command.Args[a], data);
            }

            if (i > 0)
            {
                args[^1] = result;
            }

            result = command.Function(new TemplateCall(this, command.Name, args, data));
        }

        return result;
    }

    private object? Resolve(Operand operand, ITemplateData data)
    {
        if (operand.Field is not null)
        {
            return data.Field(operand.Field);
        }

        if (operand.Function is not null)
        {
            return operand.Function(new TemplateCall(this, operand.Text, [], data));
        }

        return operand.Literal;
    }

    private abstract record Node;

    private sealed record TextNode(string Text) : Node;

    private sealed record ActionNode(Command[] Pipeline) : Node;

    private sealed record IfNode(List<(Command[] Condition, Node[] Body)> Branches, Node[]? Else) : Node;

    private sealed class Command(string name, TemplateFunction? function, Operand[] args, int pipedArgs)
    {
        public string Name { get; } = name;

        public TemplateFunction? Function { get; } = function;

        public Operand[] Args { get; } = args;

        /// <summary>The evaluated arguments, reused from call to call.</summary>
        public object?[] Buffer { get; } = new object?[args.Length + pipedArgs];
    }

    private sealed record Operand(string Text, string? Field, object? Literal, TemplateFunction? Function)
    {
        public override string ToString() => Text;
    }

    private sealed class Parser(string text, TemplateFunctions functions, Dictionary<string, Regex> regexes)
    {
        private int _position;
        private int _depth;
        private bool _trimNextText;
        private List<string>? _pendingElseIf;

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

                var trimLeft = open + 3 < text.Length && text[open + 2] == '-' && char.IsWhiteSpace(text[open + 3]);
                if (trimLeft)
                {
                    chunk = chunk.TrimEnd();
                }

                AddText(nodes, chunk);
                var start = open + (trimLeft ? 3 : 2);
                var close = FindClose(start);
                if (close < 0)
                {
                    throw new FormatException($"unclosed action at position {open}");
                }

                var inner = text[start..close];
                if (inner.Length >= 2 && inner[^1] == '-' && char.IsWhiteSpace(inner[^2]))
                {
                    inner = inner[..^1];
                    _trimNextText = true;
                }

                _position = close + 2;
                inner = inner.Trim();
                if (inner.StartsWith("/*", StringComparison.Ordinal))
                {
                    if (!inner.EndsWith("*/", StringComparison.Ordinal))
                    {
                        throw new FormatException($"unclosed comment at position {open}");
                    }

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
                        end = words.Count > 1 && words[1] == "if" ? "else if" : "else";
                        _pendingElseIf = words.Count > 1 && words[1] == "if" ? words[2..] : null;
                        return nodes;
                    case "if":
                        nodes.Add(ParseIf(words[1..], open));
                        break;
                    case "range" or "with" or "define" or "template" or "block" or "break" or "continue":
                        throw new FormatException($"'{words[0]}' is not supported in templates (position {open})");
                    default:
                        nodes.Add(new ActionNode(ParsePipeline(words, open)));
                        break;
                }
            }

            end = null;
            return nodes;
        }

        /// <summary>The "}}" closing the action that starts at <paramref name="start"/>, skipping quoted strings.</summary>
        private int FindClose(int start)
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

        private IfNode ParseIf(List<string> condition, int position)
        {
            if (condition.Count == 0)
            {
                throw new FormatException($"missing condition in {{{{if}}}} at position {position}");
            }

            if (++_depth > MaxDepth)
            {
                throw new FormatException($"template nests too deeply (more than {MaxDepth} levels) at position {position}");
            }

            var branches = new List<(Command[], Node[])>();
            Node[]? elseBody = null;
            var current = condition;
            while (true)
            {
                var pipeline = ParsePipeline(current, position);
                var body = ParseList(out var end);
                branches.Add((pipeline, [.. body]));
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

                elseBody = [.. ParseList(out end)];
                if (end != "end")
                {
                    throw new FormatException($"expected {{{{end}}}} after {{{{else}}}} (if at position {position})");
                }

                break;
            }

            _depth--;
            return new IfNode(branches, elseBody);
        }

        private Command[] ParsePipeline(List<string> words, int position)
        {
            var commands = new List<Command>();
            var current = new List<string>();
            foreach (var word in words)
            {
                if (word == "|")
                {
                    commands.Add(ParseCommand(current, position, commands.Count > 0));
                    current = [];
                }
                else
                {
                    current.Add(word);
                }
            }

            commands.Add(ParseCommand(current, position, commands.Count > 0));
            return [.. commands];
        }

        private Command ParseCommand(List<string> words, int position, bool piped)
        {
            if (words.Count == 0)
            {
                throw new FormatException($"missing command in pipeline at position {position}");
            }

            var first = words[0];
            if (IsIdentifier(first))
            {
                var function = Function(first, position);
                var args = new Operand[words.Count - 1];
                for (var i = 1; i < words.Count; i++)
                {
                    args[i - 1] = ParseOperand(words[i], position);
                }

                if (TemplateFunctions.TakesRegex(first) && args.Length > 0 && args[0].Literal is string pattern && !regexes.ContainsKey(pattern))
                {
                    try
                    {
                        regexes[pattern] = Re2Regex.Compile(pattern);
                    }
                    catch (ArgumentException ex)
                    {
                        throw new FormatException($"{first}: {ex.Message}", ex);
                    }
                }

                return new Command(first, function, args, piped ? 1 : 0);
            }

            if (words.Count > 1)
            {
                throw new FormatException($"can't give argument to non-function {first} (position {position})");
            }

            return new Command(first, null, [ParseOperand(first, position)], 0);
        }

        private TemplateFunction Function(string name, int position) =>
            functions.TryGet(name, out var function) ? function : throw new FormatException($"function \"{name}\" not defined");

        private Operand ParseOperand(string word, int position)
        {
            if (word == ".")
            {
                return new Operand(word, string.Empty, null, null);
            }

            if (word.StartsWith('.'))
            {
                var name = word[1..];
                if (name.Length == 0 || name.Contains('.', StringComparison.Ordinal))
                {
                    throw new FormatException($"unsupported field chain {word} (position {position})");
                }

                return new Operand(word, name, null, null);
            }

            if (word.StartsWith('"') || word.StartsWith('`'))
            {
                return new Operand(word, null, word[1..^1], null);
            }

            if (word is "true" or "false")
            {
                return new Operand(word, null, word == "true", null);
            }

            if (word.StartsWith('$'))
            {
                throw new FormatException($"variables such as {word} are not supported (position {position})");
            }

            if (long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                return new Operand(word, null, number, null);
            }

            if ((char.IsAsciiDigit(word[0]) || word[0] is '-' or '+' or '.')
                && double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            {
                return new Operand(word, null, real, null);
            }

            if (IsIdentifier(word))
            {
                // A function as an argument is called without arguments, as in Go.
                return new Operand(word, null, null, Function(word, position));
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
                        if (inner[i] != '\\')
                        {
                            sb.Append(inner[i++]);
                            continue;
                        }

                        // Go string escapes, read as Go (and label strings, and LogQL's lexer) read them.
                        i++;
                        if (i >= inner.Length || !Model.LabelText.TryReadEscape(inner, ref i, sb))
                        {
                            throw new FormatException($"invalid escape sequence in quoted string (position {position})");
                        }
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
