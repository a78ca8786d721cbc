using Pipeline.LogQL.Syntax;
using Pipeline.Model;

namespace Pipeline.LogQL;

/// <summary>A parsed LogQL query.</summary>
public sealed class LogQLQuery
{
    private LogQLQuery(string text, Expr root)
    {
        Text = text;
        Root = root;
    }

    /// <summary>The query as given.</summary>
    public string Text { get; }

    internal Expr Root { get; }

    /// <summary>Whether this is a log query (a selector and pipeline, answered with streams) rather than a metric query.</summary>
    public bool IsLogQuery => Root is LogSelectorExpr;

    /// <summary>Parses a query.</summary>
    /// <param name="query">The LogQL text.</param>
    /// <returns>The parsed query.</returns>
    /// <exception cref="LogQLParseException">The text is not valid LogQL; the message has Loki's wording and the position.</exception>
    public static LogQLQuery Parse(string query) => new(query, Parser.Parse(query));

    /// <summary>Parses a bare stream selector (optionally with a pipeline, which is ignored), as the <c>match[]</c> of
    /// <c>/series</c> and the <c>query</c> of <c>/labels</c> carry.</summary>
    /// <param name="selector">The selector, e.g. <c>{app="api", pod=~"web-.*"}</c>.</param>
    /// <returns>Its matchers.</returns>
    /// <exception cref="LogQLParseException">The text is not a valid selector.</exception>
    public static IReadOnlyList<LabelMatcher> ParseSelector(string selector) => Parser.ParseSelector(selector);

    /// <summary>The stream selectors (matcher lists) the query reads, one per selector in it.</summary>
    /// <returns>The matcher lists.</returns>
    public IReadOnlyList<IReadOnlyList<LabelMatcher>> GetSelectors()
    {
        List<IReadOnlyList<LabelMatcher>> result = [];
        Collect(Root, result);
        return result;

        static void Collect(Expr expr, List<IReadOnlyList<LabelMatcher>> into)
        {
            switch (expr)
            {
                case LogSelectorExpr s: into.Add(s.Matchers); break;
                case RangeAggregationExpr r: into.Add(r.Range.Selector.Matchers); break;
                case VectorAggregationExpr v: Collect(v.Inner, into); break;
                case LabelReplaceExpr l: Collect(l.Inner, into); break;
                case BinaryExpr b:
                    Collect(b.Left, into);
                    Collect(b.Right, into);
                    break;
            }
        }
    }

    /// <summary>The canonical form of the query (normalized spacing and quoting, binary operations parenthesized).</summary>
    /// <returns>The canonical text.</returns>
    public override string ToString() => Root.ToString()!;
}
