using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>The result of a LogQL query: one of <see cref="StreamsResult"/>, <see cref="MatrixResult"/>, <see cref="VectorResult"/> or <see cref="ScalarResult"/>.</summary>
public abstract class QueryResult
{
    private protected QueryResult(QueryStatistics statistics) => Statistics = statistics;

    /// <summary>Loki's <c>resultType</c>: <c>streams</c>, <c>matrix</c>, <c>vector</c> or <c>scalar</c>.</summary>
    public abstract string ResultType { get; }

    /// <summary>What the query read.</summary>
    public QueryStatistics Statistics { get; }
}

/// <summary>What a query read, for Loki's <c>stats</c> object.</summary>
public sealed class QueryStatistics
{
    /// <summary>Streams selected by the stream selectors.</summary>
    public long StreamsSelected { get; internal set; }

    /// <summary>Entries read from the store (before any filter).</summary>
    public long LinesScanned { get; internal set; }

    /// <summary>Line bytes read from the store (before any filter).</summary>
    public long BytesScanned { get; internal set; }

    /// <summary>Entries (log queries) or samples (metric queries) returned.</summary>
    public long ResultCount { get; internal set; }

    /// <summary>Wall time of the evaluation.</summary>
    public TimeSpan ExecutionTime { get; internal set; }
}

/// <summary>One log line of a streams result.</summary>
/// <param name="TimestampNs">Unix nanoseconds.</param>
/// <param name="Line">The line after the pipeline (<c>line_format</c> may have rewritten it).</param>
public readonly record struct ResultEntry(long TimestampNs, string Line)
{
    /// <summary>The labels of the stream the entry was stored in, before the pipeline (for Loki's categorized labels).</summary>
    public LabelSet? StreamLabels { get; init; }

    /// <summary>The structured metadata the entry was stored with, if any.</summary>
    public LabelSet? StructuredMetadata { get; init; }
}

/// <summary>The entries of one result stream, which all share the same final labels.</summary>
/// <param name="Labels">The labels after the pipeline (parsed labels, <c>__error__</c>, structured metadata).</param>
/// <param name="Entries">The entries, in the query's direction.</param>
public sealed record StreamResult(LabelSet Labels, IReadOnlyList<ResultEntry> Entries);

/// <summary>A log query's result (<c>resultType: streams</c>).</summary>
public sealed class StreamsResult : QueryResult
{
    internal StreamsResult(IReadOnlyList<StreamResult> streams, QueryStatistics statistics)
        : base(statistics) => Streams = streams;

    /// <inheritdoc/>
    public override string ResultType => "streams";

    /// <summary>The streams, each with its entries in the query's direction.</summary>
    public IReadOnlyList<StreamResult> Streams { get; }
}

/// <summary>One point of a series.</summary>
/// <param name="TimestampNs">The evaluation time, Unix nanoseconds (Loki writes it as seconds with up to 3 decimals).</param>
/// <param name="Value">The value (Loki writes it as a string).</param>
public readonly record struct SamplePoint(long TimestampNs, double Value)
{
    /// <summary>The timestamp in Unix seconds, as Loki's JSON carries it.</summary>
    public double Seconds => TimestampNs / 1e9;
}

/// <summary>One series of a matrix result.</summary>
/// <param name="Metric">The series labels.</param>
/// <param name="Points">The points, oldest first.</param>
public sealed record ResultSeries(LabelSet Metric, IReadOnlyList<SamplePoint> Points);

/// <summary>A range metric query's result (<c>resultType: matrix</c>).</summary>
public sealed class MatrixResult : QueryResult
{
    internal MatrixResult(IReadOnlyList<ResultSeries> series, QueryStatistics statistics)
        : base(statistics) => Series = series;

    /// <inheritdoc/>
    public override string ResultType => "matrix";

    /// <summary>The series, sorted by labels.</summary>
    public IReadOnlyList<ResultSeries> Series { get; }
}

/// <summary>One sample of a vector result.</summary>
/// <param name="Metric">The series labels.</param>
/// <param name="TimestampNs">The evaluation time, Unix nanoseconds.</param>
/// <param name="Value">The value.</param>
public readonly record struct VectorSample(LabelSet Metric, long TimestampNs, double Value);

/// <summary>An instant metric query's result (<c>resultType: vector</c>).</summary>
public sealed class VectorResult : QueryResult
{
    internal VectorResult(IReadOnlyList<VectorSample> samples, QueryStatistics statistics)
        : base(statistics) => Samples = samples;

    /// <inheritdoc/>
    public override string ResultType => "vector";

    /// <summary>The samples, sorted by labels.</summary>
    public IReadOnlyList<VectorSample> Samples { get; }
}

/// <summary>An instant query of a plain number expression (<c>resultType: scalar</c>).</summary>
public sealed class ScalarResult : QueryResult
{
    internal ScalarResult(long timestampNs, double value, QueryStatistics statistics)
        : base(statistics)
    {
        TimestampNs = timestampNs;
        Value = value;
    }

    /// <inheritdoc/>
    public override string ResultType => "scalar";

    /// <summary>The evaluation time, Unix nanoseconds.</summary>
    public long TimestampNs { get; }

    /// <summary>The value.</summary>
    public double Value { get; }
}
