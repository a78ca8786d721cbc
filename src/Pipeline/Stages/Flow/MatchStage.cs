using Pipeline.LogQL;
using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>match</c> stage: when an entry's labels match the selector's label matchers (<c>=</c>, <c>!=</c>,
/// <c>=~</c>, <c>!~</c>; regexes anchored, a missing label is empty) and its line passes the line filters
/// (<c>|=</c>, <c>!=</c>, <c>|~</c>, <c>!~</c>, with <c>or</c>), the nested stages run on it (<c>action: keep</c>) or it
/// is dropped (<c>action: drop</c>). Other entries pass untouched. The selector is parsed by LogQL's parser (as
/// Promtail reuses Loki's); like Promtail, only line filters may follow it. Label matching is cached per label set.
/// </summary>
public sealed class MatchStage : ILogStage, IContextAware
{
    private readonly LabelMatcher[] _matchers;
    private readonly LineFilter[] _filters;
    private readonly ILogStage[] _stages;
    private readonly bool _drop;
    private readonly string _reason;
    private readonly LabelTransformCache _cache = new();

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

        (_matchers, _filters) = ParseSelector(options.Selector);
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

    private static (LabelMatcher[], LineFilter[]) ParseSelector(string selector)
    {
        LogSelectorExpr parsed;
        try
        {
            parsed = Parser.ParseLogSelector(selector, lokiMatcherRule: false);
        }
        catch (LogQLParseException ex)
        {
            throw new StageOptionsException("match", "selector", selector, ex.Message, ex);
        }

        var filters = new LineFilter[parsed.Stages.Count];
        for (var i = 0; i < filters.Length; i++)
        {
            if (parsed.Stages[i] is not LineFilterExpr filter)
            {
                throw new StageOptionsException("match", "selector", selector, $"'{parsed.Stages[i]}' is not supported in a match selector: like Promtail's, it takes line filters (|=, !=, |~, !~) only");
            }

            filters[i] = new LineFilter(filter);
        }

        return ([.. parsed.Matchers], filters);
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
            if (!matcher.Matches(labels[matcher.Name]))
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
        foreach (var filter in _filters)
        {
            if (!filter.Matches(line))
            {
                return false;
            }
        }

        return true;
    }
}
