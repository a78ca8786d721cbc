using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>match</c> stage: when an entry's labels match the selector's label matchers (<c>=</c>, <c>!=</c>,
/// <c>=~</c>, <c>!~</c>; regexes anchored, a missing label is empty) and its line passes the line filters
/// (<c>|=</c>, <c>!=</c>, <c>|~</c>, <c>!~</c>), the nested stages run on it (<c>action: keep</c>) or it is dropped
/// (<c>action: drop</c>). Other entries pass untouched. Label matching is cached per label set.
/// </summary>
public sealed class MatchStage : ILogStage, IContextAware
{
    private readonly Matcher[] _matchers;
    private readonly LineFilter[] _filters;
    private readonly ILogStage[] _stages;
    private readonly bool _drop;
    private readonly string _reason;
    private readonly LabelTransformCache _cache = new();
    private readonly Utf16Scratch _scratch = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The selector does not parse, the action is unknown, or stages do not fit the action.</exception>
    public MatchStage(MatchStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Selector))
        {
            throw new StageOptionsException("match", "selector", options.Selector, "a LogQL stream selector such as {app=\"api\"} |= \"error\"");
        }

        try
        {
            (_matchers, _filters) = SelectorParser.Parse(options.Selector);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException("match", "selector", options.Selector, ex.Message, ex);
        }

        var action = options.Action ?? "keep";
        if (action is not ("keep" or "drop"))
        {
            throw new StageOptionsException("match", "action", action, "keep or drop");
        }

        _drop = action == "drop";
        var count = options.Stages?.Count ?? 0;
        if (_drop && count > 0)
        {
            throw new StageOptionsException("match", "stages", count, "no nested stages with action drop");
        }

        if (!_drop && count == 0)
        {
            throw new StageOptionsException("match", "stages", 0, "at least one nested stage with action keep");
        }

        _stages = options.Stages is null ? [] : [.. options.Stages];
        _reason = string.IsNullOrEmpty(options.DropCounterReason) ? MatchStageOptions.DefaultDropCounterReason : options.DropCounterReason;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public MatchStageOptions Options { get; }

    /// <inheritdoc/>
    public void Attach(ComponentContext context)
    {
        foreach (var stage in _stages)
        {
            (stage as IContextAware)?.Attach(context);
        }
    }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!LabelsMatch(entry.Labels) || !LineMatches(entry.Line))
        {
            return StageResult.Keep;
        }

        if (_drop)
        {
            return StageResult.Drop(_reason);
        }

        foreach (var stage in _stages)
        {
            var result = stage.Process(entry);
            if (result.IsDrop)
            {
                return result;
            }
        }

        return StageResult.Keep;
    }

    private bool LabelsMatch(LabelSet labels)
    {
        if (_cache.TryGet(labels, out var cached))
        {
            return cached is not null;
        }

        var match = true;
        foreach (var matcher in _matchers)
        {
            if (!matcher.Matches(labels[matcher.Name] ?? string.Empty))
            {
                match = false;
                break;
            }
        }

        _cache.Add(labels, match ? labels : null);
        return match;
    }

    private bool LineMatches(ReadOnlySpan<byte> line)
    {
        var decoded = false;
        foreach (var filter in _filters)
        {
            bool found;
            if (filter.Regex is null)
            {
                found = line.IndexOf(filter.Utf8) >= 0;
            }
            else
            {
                if (!decoded)
                {
                    _scratch.Load(line);
                    decoded = true;
                }

                found = filter.Regex.IsMatch(_scratch.Buffer.AsSpan(0, _scratch.Length));
            }

            if (found == filter.Negated)
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Matcher(string Name, string Op, string Value, Regex? Regex)
    {
        public bool Matches(string value) => Op switch
        {
            "=" => string.Equals(value, Value, StringComparison.Ordinal),
            "!=" => !string.Equals(value, Value, StringComparison.Ordinal),
            "=~" => Regex!.IsMatch(value),
            _ => !Regex!.IsMatch(value),
        };
    }

    private sealed record LineFilter(bool Negated, byte[] Utf8, Regex? Regex);

    /// <summary>Parses <c>{name op "value", ...} [|= "x" | != "x" | |~ "re" | !~ "re"]*</c>.</summary>
    private static class SelectorParser
    {
        public static (Matcher[], LineFilter[]) Parse(string text)
        {
            var i = 0;
            SkipSpace(text, ref i);
            Expect(text, ref i, '{');
            var matchers = new List<Matcher>();
            while (true)
            {
                SkipSpace(text, ref i);
                if (i < text.Length && text[i] == '}')
                {
                    i++;
                    break;
                }

                if (matchers.Count > 0)
                {
                    Expect(text, ref i, ',');
                    SkipSpace(text, ref i);
                }

                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                var name = text[start..i];
                if (!Label.IsValidName(name))
                {
                    throw new FormatException($"expected a label name at position {start}");
                }

                SkipSpace(text, ref i);
                var op = i + 1 < text.Length && text[i + 1] is '=' or '~' && text[i] is '=' or '!' ? text.Substring(i, 2) : i < text.Length && text[i] == '=' ? "=" : null;
                if (op is null or "==")
                {
                    throw new FormatException($"expected =, !=, =~ or !~ at position {i}");
                }

                i += op.Length;
                SkipSpace(text, ref i);
                var value = ReadString(text, ref i);
                Regex? regex = null;
                if (op is "=~" or "!~")
                {
                    regex = OptionRegex.Compile(value, "match", "selector", anchor: true);
                }

                matchers.Add(new Matcher(name, op, value, regex));
            }

            if (matchers.Count == 0)
            {
                throw new FormatException("the selector needs at least one label matcher");
            }

            var filters = new List<LineFilter>();
            while (true)
            {
                SkipSpace(text, ref i);
                if (i >= text.Length)
                {
                    break;
                }

                var op = i + 1 < text.Length ? text.Substring(i, 2) : text[i..];
                if (op is not ("|=" or "!=" or "|~" or "!~"))
                {
                    throw new FormatException($"expected a line filter (|=, !=, |~, !~) at position {i}; parsers and label filters are not supported in match selectors");
                }

                i += 2;
                SkipSpace(text, ref i);
                var value = ReadString(text, ref i);
                var regex = op[1] == '~' ? OptionRegex.Compile(value, "match", "selector") : null;
                filters.Add(new LineFilter(op[0] == '!', Encoding.UTF8.GetBytes(value), regex));
            }

            return ([.. matchers], [.. filters]);
        }

        private static string ReadString(string text, ref int i)
        {
            if (i >= text.Length || (text[i] != '"' && text[i] != '`'))
            {
                throw new FormatException($"expected a quoted string at position {i}");
            }

            var quote = text[i];
            var sb = new StringBuilder();
            i++;
            while (i < text.Length && text[i] != quote)
            {
                if (quote == '"' && text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                    sb.Append(text[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => text[i] });
                }
                else
                {
                    sb.Append(text[i]);
                }

                i++;
            }

            if (i >= text.Length)
            {
                throw new FormatException("unterminated string");
            }

            i++;
            return sb.ToString();
        }

        private static void Expect(string text, ref int i, char c)
        {
            if (i >= text.Length || text[i] != c)
            {
                throw new FormatException($"expected '{c}' at position {i}");
            }

            i++;
        }

        private static void SkipSpace(string text, ref int i)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
        }
    }
}
