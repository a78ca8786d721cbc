using System.Text;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.LogQL.Syntax;

// The LogQL syntax tree. ToString() of every node is the canonical form: stable, re-parsable, with binary
// operations fully parenthesized so that golden tests show the structure the parser built.

/// <summary>Any LogQL expression.</summary>
internal abstract class Expr
{
}

/// <summary>A log query: a stream selector and its pipeline.</summary>
internal sealed class LogSelectorExpr(IReadOnlyList<LabelMatcher> matchers, IReadOnlyList<StageExpr> stages) : Expr
{
    public IReadOnlyList<LabelMatcher> Matchers { get; } = matchers;

    public IReadOnlyList<StageExpr> Stages { get; } = stages;

    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append('{').AppendJoin(", ", Matchers).Append('}');
        foreach (var stage in Stages)
        {
            builder.Append(' ').Append(stage);
        }

        return builder.ToString();
    }
}

/// <summary>An expression that evaluates to samples (scalar or vector).</summary>
internal abstract class SampleExpr : Expr
{
}

internal enum LineFilterOp
{
    Contains,
    NotContains,
    Match,
    NotMatch,
    Pattern,
    NotPattern,
}

/// <summary>One step of a log pipeline.</summary>
internal abstract class StageExpr
{
}

/// <summary><c>|= "a" or "b"</c>, <c>!= "a"</c>, <c>|~ "re"</c>, <c>!~ "re"</c>, <c>|&gt; "&lt;_&gt; pattern"</c>, <c>!&gt; "pattern"</c>.</summary>
internal sealed class LineFilterExpr(LineFilterOp op, IReadOnlyList<string> values) : StageExpr
{
    public LineFilterOp Op { get; } = op;

    public IReadOnlyList<string> Values { get; } = values;

    public override string ToString()
    {
        var op = Op switch
        {
            LineFilterOp.Contains => "|=",
            LineFilterOp.NotContains => "!=",
            LineFilterOp.Match => "|~",
            LineFilterOp.NotMatch => "!~",
            LineFilterOp.Pattern => "|>",
            _ => "!>",
        };
        var builder = new StringBuilder(op).Append(' ').Append(LabelText.Quote(Values[0]));
        for (var i = 1; i < Values.Count; i++)
        {
            builder.Append(" or ").Append(LabelText.Quote(Values[i]));
        }

        return builder.ToString();
    }
}

/// <summary>A label taken by a parser with parameters: <c>json a="b.c"</c>, <c>logfmt a="b"</c>.</summary>
internal sealed record ExtractionParam(string Label, string Expression)
{
    public override string ToString() => Label + "=" + LabelText.Quote(Expression);
}

internal sealed class JsonParserExpr(IReadOnlyList<ExtractionParam> parameters) : StageExpr
{
    public IReadOnlyList<ExtractionParam> Parameters { get; } = parameters;

    public override string ToString() => Parameters.Count == 0 ? "| json" : "| json " + string.Join(", ", Parameters);
}

internal sealed class LogfmtParserExpr(bool strict, bool keepEmpty, IReadOnlyList<ExtractionParam> parameters) : StageExpr
{
    public bool Strict { get; } = strict;

    public bool KeepEmpty { get; } = keepEmpty;

    public IReadOnlyList<ExtractionParam> Parameters { get; } = parameters;

    public override string ToString()
    {
        var builder = new StringBuilder("| logfmt");
        if (Strict)
        {
            builder.Append(" --strict");
        }

        if (KeepEmpty)
        {
            builder.Append(" --keep-empty");
        }

        if (Parameters.Count > 0)
        {
            builder.Append(' ').AppendJoin(", ", Parameters);
        }

        return builder.ToString();
    }
}

internal sealed class RegexpParserExpr(string pattern) : StageExpr
{
    public string Pattern { get; } = pattern;

    public override string ToString() => "| regexp " + LabelText.Quote(Pattern);
}

internal sealed class PatternParserExpr(string pattern) : StageExpr
{
    public string Pattern { get; } = pattern;

    public override string ToString() => "| pattern " + LabelText.Quote(Pattern);
}

internal sealed class UnpackParserExpr : StageExpr
{
    public override string ToString() => "| unpack";
}

internal sealed class DecolorizeExpr : StageExpr
{
    public override string ToString() => "| decolorize";
}

internal sealed class LineFormatExpr(string template) : StageExpr
{
    public string Template { get; } = template;

    public override string ToString() => "| line_format " + LabelText.Quote(Template);
}

/// <summary><c>dst=src</c> (rename) or <c>dst="template"</c>.</summary>
internal sealed record LabelFormatItem(string Target, string Source, bool IsTemplate)
{
    public override string ToString() => Target + "=" + (IsTemplate ? LabelText.Quote(Source) : Source);
}

internal sealed class LabelFormatExpr(IReadOnlyList<LabelFormatItem> items) : StageExpr
{
    public IReadOnlyList<LabelFormatItem> Items { get; } = items;

    public override string ToString() => "| label_format " + string.Join(", ", Items);
}

/// <summary>A name, or a matcher, of <c>drop</c>/<c>keep</c>.</summary>
internal sealed record DropKeepItem(string Name, LabelMatcher? Matcher)
{
    public override string ToString() => Matcher?.ToString() ?? Name;
}

internal sealed class DropLabelsExpr(bool keep, IReadOnlyList<DropKeepItem> items) : StageExpr
{
    public bool Keep { get; } = keep;

    public IReadOnlyList<DropKeepItem> Items { get; } = items;

    public override string ToString() => (Keep ? "| keep " : "| drop ") + string.Join(", ", Items);
}

internal sealed class LabelFilterStageExpr(LabelFilter filter) : StageExpr
{
    public LabelFilter Filter { get; } = filter;

    public override string ToString() => "| " + Filter;
}

/// <summary>A label filter expression.</summary>
internal abstract class LabelFilter
{
}

internal sealed class BinaryLabelFilter(bool and, LabelFilter left, LabelFilter right) : LabelFilter
{
    public bool And { get; } = and;

    public LabelFilter Left { get; } = left;

    public LabelFilter Right { get; } = right;

    public override string ToString()
    {
        if (!And)
        {
            return Left + " or " + Right;
        }

        return Wrap(Left) + " and " + Wrap(Right);

        static string Wrap(LabelFilter f) => f is BinaryLabelFilter { And: false } ? "(" + f + ")" : f.ToString()!;
    }
}

internal sealed class StringLabelFilter(LabelMatcher matcher) : LabelFilter
{
    public LabelMatcher Matcher { get; } = matcher;

    public override string ToString() => Matcher.ToString();
}

/// <summary><c>addr = ip("10.0.0.0/8")</c>, <c>addr != ip("192.168.0.1-192.168.0.9")</c>.</summary>
internal sealed class IpLabelFilter(string name, bool negate, Matching.IpMatcher matcher) : LabelFilter
{
    public string Name { get; } = name;

    public bool Negate { get; } = negate;

    public Matching.IpMatcher Matcher { get; } = matcher;

    public override string ToString() => Name + (Negate ? "!=" : "=") + "ip(" + LabelText.Quote(Matcher.Pattern) + ")";
}

internal enum CompareOp
{
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

internal enum NumericKind
{
    Number,
    Duration,
    Bytes,
}

/// <summary><c>status &gt;= 400</c>, <c>latency &gt; 250ms</c>, <c>size &lt;= 20MB</c>.</summary>
internal sealed class NumericLabelFilter(string name, CompareOp op, NumericKind kind, double value, string literal) : LabelFilter
{
    public string Name { get; } = name;

    public CompareOp Op { get; } = op;

    public NumericKind Kind { get; } = kind;

    /// <summary>The value: a number, a duration in seconds, or bytes.</summary>
    public double Value { get; } = value;

    public string Literal { get; } = literal;

    public override string ToString() => Name + OpText(Op) + Literal;

    public static string OpText(CompareOp op) => op switch
    {
        CompareOp.Equal => "==",
        CompareOp.NotEqual => "!=",
        CompareOp.Greater => ">",
        CompareOp.GreaterOrEqual => ">=",
        CompareOp.Less => "<",
        _ => "<=",
    };
}

/// <summary><c>| unwrap latency</c>, <c>| unwrap duration(latency)</c>, with the label filters that follow it.</summary>
internal sealed class UnwrapExpr(string label, string? conversion, IReadOnlyList<LabelFilter> postFilters)
{
    public string Label { get; } = label;

    /// <summary><see langword="null"/>, <c>duration</c>, <c>duration_seconds</c> or <c>bytes</c>.</summary>
    public string? Conversion { get; } = conversion;

    public IReadOnlyList<LabelFilter> PostFilters { get; } = postFilters;

    public override string ToString()
    {
        var builder = new StringBuilder("| unwrap ");
        builder.Append(Conversion is null ? Label : Conversion + "(" + Label + ")");
        foreach (var filter in PostFilters)
        {
            builder.Append(" | ").Append(filter);
        }

        return builder.ToString();
    }
}

/// <summary>A log selector over a time range: <c>{app="x"} |= "e" [5m] offset 1h</c>.</summary>
internal sealed class LogRangeExpr(LogSelectorExpr selector, long rangeNs, long offsetNs, UnwrapExpr? unwrap)
{
    public LogSelectorExpr Selector { get; } = selector;

    public long RangeNs { get; } = rangeNs;

    public long OffsetNs { get; } = offsetNs;

    public UnwrapExpr? Unwrap { get; } = unwrap;

    public override string ToString()
    {
        var builder = new StringBuilder(Selector.ToString());
        if (Unwrap is not null)
        {
            builder.Append(' ').Append(Unwrap);
        }

        builder.Append(" [").Append(GoDuration.Format(RangeNs)).Append(']');
        if (OffsetNs != 0)
        {
            builder.Append(" offset ").Append(GoDuration.Format(OffsetNs));
        }

        return builder.ToString();
    }
}

/// <summary><c>by (a, b)</c> or <c>without (a)</c>.</summary>
internal sealed class Grouping(bool without, IReadOnlyList<string> labels)
{
    public bool Without { get; } = without;

    public IReadOnlyList<string> Labels { get; } = labels;

    public override string ToString() => (Without ? "without (" : "by (") + string.Join(", ", Labels) + ")";
}

/// <summary><c>count_over_time(...)</c>, <c>quantile_over_time(0.99, ...) by (a)</c>.</summary>
internal sealed class RangeAggregationExpr(string op, LogRangeExpr range, double? parameter, Grouping? grouping) : SampleExpr
{
    public string Op { get; } = op;

    public LogRangeExpr Range { get; } = range;

    public double? Parameter { get; } = parameter;

    public Grouping? Grouping { get; } = grouping;

    public override string ToString()
    {
        var builder = new StringBuilder(Op).Append('(');
        if (Parameter is { } p)
        {
            builder.Append(GoNumber.Format(p)).Append(", ");
        }

        builder.Append(Range).Append(')');
        if (Grouping is not null)
        {
            builder.Append(' ').Append(Grouping);
        }

        return builder.ToString();
    }
}

/// <summary><c>sum by (a) (...)</c>, <c>topk(5, ...)</c>.</summary>
internal sealed class VectorAggregationExpr(string op, SampleExpr inner, double? parameter, Grouping? grouping, string? label = null) : SampleExpr
{
    public string Op { get; } = op;

    /// <summary>The label <c>count_values</c> writes each value to.</summary>
    public string? Label { get; } = label;

    public SampleExpr Inner { get; } = inner;

    public double? Parameter { get; } = parameter;

    public Grouping? Grouping { get; } = grouping;

    public override string ToString()
    {
        var builder = new StringBuilder(Op);
        if (Grouping is not null)
        {
            builder.Append(' ').Append(Grouping).Append(' ');
        }

        builder.Append('(');
        if (Parameter is { } p)
        {
            builder.Append(GoNumber.Format(p)).Append(", ");
        }

        if (Label is not null)
        {
            builder.Append(LabelText.Quote(Label)).Append(", ");
        }

        return builder.Append(Inner).Append(')').ToString();
    }
}

/// <summary>Which side of a binary operation may have many series per match group.</summary>
internal enum MatchCardinality
{
    /// <summary>One series on each side.</summary>
    OneToOne,

    /// <summary><c>group_left</c>: many on the left, one on the right.</summary>
    ManyToOne,

    /// <summary><c>group_right</c>: one on the left, many on the right.</summary>
    OneToMany,
}

/// <summary>
/// The label matching of a binary operation between vectors: <c>on (a)</c> or <c>ignoring (b)</c>, optionally with
/// <c>group_left (c)</c>/<c>group_right (c)</c>, which name the labels copied from the "one" side.
/// </summary>
internal sealed class VectorMatching(bool on, IReadOnlyList<string> labels, MatchCardinality cardinality = MatchCardinality.OneToOne, IReadOnlyList<string>? include = null)
{
    public bool On { get; } = on;

    public IReadOnlyList<string> Labels { get; } = labels;

    public MatchCardinality Cardinality { get; } = cardinality;

    /// <summary>The labels of the "one" side that the result takes.</summary>
    public IReadOnlyList<string> Include { get; } = include ?? [];

    public override string ToString()
    {
        var text = (On ? "on (" : "ignoring (") + string.Join(", ", Labels) + ")";
        return Cardinality switch
        {
            MatchCardinality.ManyToOne => text + " group_left (" + string.Join(", ", Include) + ")",
            MatchCardinality.OneToMany => text + " group_right (" + string.Join(", ", Include) + ")",
            _ => text,
        };
    }
}

internal sealed class BinaryExpr(string op, SampleExpr left, SampleExpr right, bool returnBool, VectorMatching? matching) : SampleExpr
{
    public string Op { get; } = op;

    public SampleExpr Left { get; } = left;

    public SampleExpr Right { get; } = right;

    public bool ReturnBool { get; } = returnBool;

    public VectorMatching? Matching { get; } = matching;

    public bool IsComparison => Op is "==" or "!=" or ">" or ">=" or "<" or "<=";

    public bool IsSetOp => Op is "and" or "or" or "unless";

    public override string ToString()
    {
        var builder = new StringBuilder("(").Append(Left).Append(' ').Append(Op);
        if (ReturnBool)
        {
            builder.Append(" bool");
        }

        if (Matching is not null)
        {
            builder.Append(' ').Append(Matching);
        }

        return builder.Append(' ').Append(Right).Append(')').ToString();
    }
}

internal sealed class LiteralExpr(double value) : SampleExpr
{
    public double Value { get; } = value;

    public override string ToString() => GoNumber.Format(Value);
}

/// <summary><c>vector(1)</c>: a vector of one sample with no labels at every step.</summary>
internal sealed class VectorLiteralExpr(double value) : SampleExpr
{
    public double Value { get; } = value;

    public override string ToString() => "vector(" + GoNumber.Format(Value) + ")";
}

/// <summary><c>label_replace(v, "dst", "replacement", "src", "regex")</c>: Prometheus' relabeling of every series.</summary>
internal sealed class LabelReplaceExpr(SampleExpr inner, string destination, string replacement, string source, string regex) : SampleExpr
{
    public SampleExpr Inner { get; } = inner;

    public string Destination { get; } = destination;

    public string Replacement { get; } = replacement;

    public string Source { get; } = source;

    public string Regex { get; } = regex;

    /// <summary>The pattern compiled once, anchored at both ends as Prometheus does.</summary>
    public System.Text.RegularExpressions.Regex Compiled { get; } = Re2.Re2Regex.Compile(regex, anchored: true);

    public override string ToString() =>
        "label_replace(" + Inner + ", " + LabelText.Quote(Destination) + ", " + LabelText.Quote(Replacement) + ", "
        + LabelText.Quote(Source) + ", " + LabelText.Quote(Regex) + ")";
}

/// <summary><c>| distinct a, b</c>: only the first line of each combination of those labels' values (log queries only).</summary>
internal sealed class DistinctExpr(IReadOnlyList<string> labels) : StageExpr
{
    public IReadOnlyList<string> Labels { get; } = labels;

    public override string ToString() => "| distinct " + string.Join(", ", Labels);
}
