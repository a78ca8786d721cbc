using System.Diagnostics;
using Pipeline.LogQL;
using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// Evaluates LogQL over an <see cref="ILogQueryStore"/>: log queries (streams, in a direction, stopping at the limit)
/// and metric queries (range and instant). Thread-safe: each call evaluates independently.
/// </summary>
public sealed class LogQLEngine
{
    private readonly ILogQueryStore _store;
    private readonly LogQLEngineOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates an engine.</summary>
    /// <param name="store">Where streams and entries come from.</param>
    /// <param name="options">Limits; <see langword="null"/> for Loki's defaults.</param>
    /// <param name="timeProvider">The clock of the per-query time-out; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public LogQLEngine(ILogQueryStore store, LogQLEngineOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new LogQLEngineOptions();
        _time = timeProvider ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxSeries, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxEntriesLimit, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxPoints, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxIntermediateSeries, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.Timeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.MaxQueryLength, TimeSpan.Zero, nameof(options));
    }

    /// <summary>Runs a range query (Loki's <c>query_range</c>).</summary>
    /// <param name="tenant">The tenant whose data is read.</param>
    /// <param name="query">The LogQL query.</param>
    /// <param name="startNs">Start, Unix ns (inclusive).</param>
    /// <param name="endNs">End, Unix ns (exclusive for log queries, the last step for metric queries).</param>
    /// <param name="stepNs">Step of metric queries, ns (ignored by log queries).</param>
    /// <param name="limit">Most entries a log query returns.</param>
    /// <param name="direction">Order of a log query's entries.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>A <see cref="StreamsResult"/> for log queries, a <see cref="MatrixResult"/> for metric queries.</returns>
    /// <exception cref="LogQLParseException">The query is not valid LogQL.</exception>
    /// <exception cref="LogQLLimitException">A limit was exceeded or the pipeline failed for a metric query.</exception>
    /// <exception cref="LogQLTimeoutException">The query ran longer than the time-out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public QueryResult QueryRange(string tenant, string query, long startNs, long endNs, long stepNs, int limit, Direction direction, CancellationToken cancellationToken = default) =>
        QueryRange(tenant, LogQLQuery.Parse(query), startNs, endNs, stepNs, limit, direction, cancellationToken);

    /// <summary>Runs a parsed range query.</summary>
    /// <param name="tenant">The tenant whose data is read.</param>
    /// <param name="query">The parsed query.</param>
    /// <param name="startNs">Start, Unix ns (inclusive).</param>
    /// <param name="endNs">End, Unix ns (exclusive for log queries, the last step for metric queries).</param>
    /// <param name="stepNs">Step of metric queries, ns.</param>
    /// <param name="limit">Most entries a log query returns.</param>
    /// <param name="direction">Order of a log query's entries.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The result.</returns>
    /// <exception cref="LogQLLimitException">A limit was exceeded or the pipeline failed for a metric query.</exception>
    /// <exception cref="LogQLTimeoutException">The query ran longer than the time-out.</exception>
    public QueryResult QueryRange(string tenant, LogQLQuery query, long startNs, long endNs, long stepNs, int limit, Direction direction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(query);
        if (endNs < startNs)
        {
            throw new LogQLException("end timestamp must not be before start time");
        }

        CheckLength(startNs, endNs);

        return Run(tenant, ctx =>
        {
            if (query.Root is LogSelectorExpr selector)
            {
                return EvaluateLogs(ctx, selector, startNs, endNs, limit, direction);
            }

            if (stepNs <= 0)
            {
                throw new LogQLException("zero or negative query resolution step widths are not accepted. Try a positive integer");
            }

            var steps = (endNs - startNs) / stepNs + 1;
            if (steps > _options.MaxPoints)
            {
                throw new LogQLLimitException($"exceeded maximum resolution of {_options.MaxPoints} points per timeseries. Try decreasing the query resolution (?step=XX)");
            }

            var evaluator = new MetricEvaluator(ctx, startNs, stepNs, (int)steps);
            var matrix = evaluator.Evaluate((SampleExpr)query.Root);
            return ToMatrix(ctx, matrix, startNs, stepNs);
        }, cancellationToken);
    }

    /// <summary>Runs an instant query (Loki's <c>query</c>).</summary>
    /// <param name="tenant">The tenant whose data is read.</param>
    /// <param name="query">The LogQL metric query.</param>
    /// <param name="timeNs">Evaluation time, Unix ns.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>A <see cref="VectorResult"/>, or a <see cref="ScalarResult"/> for a plain number expression.</returns>
    /// <exception cref="LogQLParseException">The query is not valid LogQL.</exception>
    /// <exception cref="LogQLException">The query is a log query, which Loki does not answer as an instant query.</exception>
    /// <exception cref="LogQLLimitException">A limit was exceeded or the pipeline failed.</exception>
    /// <exception cref="LogQLTimeoutException">The query ran longer than the time-out.</exception>
    public QueryResult QueryInstant(string tenant, string query, long timeNs, CancellationToken cancellationToken = default) =>
        QueryInstant(tenant, LogQLQuery.Parse(query), timeNs, cancellationToken);

    /// <summary>Runs a parsed instant query.</summary>
    /// <param name="tenant">The tenant whose data is read.</param>
    /// <param name="query">The parsed metric query.</param>
    /// <param name="timeNs">Evaluation time, Unix ns.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The result.</returns>
    /// <exception cref="LogQLException">The query is a log query.</exception>
    public QueryResult QueryInstant(string tenant, LogQLQuery query, long timeNs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(query);
        if (query.Root is not SampleExpr sample)
        {
            throw new LogQLException("log queries are not supported as an instant query type, please change your query to a range query type");
        }

        return Run(tenant, ctx =>
        {
            var evaluator = new MetricEvaluator(ctx, timeNs, 1, 1);
            var matrix = evaluator.Evaluate(sample);
            if (matrix.IsScalar)
            {
                ctx.Statistics.ResultCount = 1;
                return new ScalarResult(timeNs, matrix.Series[0].Values[0], ctx.Statistics);
            }

            List<VectorSample> samples = [];
            foreach (var series in matrix.Series)
            {
                if (series.Present[0])
                {
                    samples.Add(new VectorSample(series.Labels, timeNs, series.Values[0]));
                }
            }

            if (samples.Count > _options.MaxSeries)
            {
                throw SeriesLimit();
            }

            samples.Sort(static (a, b) => string.CompareOrdinal(a.Metric.ToString(), b.Metric.ToString()));
            if (sample is VectorAggregationExpr { Op: "sort" or "sort_desc" } sort)
            {
                // Stable: equal values stay in label order.
                var descending = sort.Op == "sort_desc";
                samples = [.. descending ? samples.OrderByDescending(static s => s.Value) : samples.OrderBy(static s => s.Value)];
            }

            ctx.Statistics.ResultCount = samples.Count;
            return new VectorResult(samples, ctx.Statistics);
        }, cancellationToken);
    }

    private LogQLLimitException SeriesLimit() => SeriesLimit(_options.MaxSeries);

    /// <summary>Loki's message for too many series, which says how to reduce them.</summary>
    internal static LogQLLimitException SeriesLimit(int limit) =>
        new($"maximum number of series ({limit}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()");

    /// <summary>Refuses a range longer than <see cref="LogQLEngineOptions.MaxQueryLength"/> (Loki's wording).</summary>
    private void CheckLength(long startNs, long endNs)
    {
        var maxNs = _options.MaxQueryLength.Ticks * 100;
        if (endNs - startNs > maxNs)
        {
            throw new LogQLLimitException($"the query time range exceeds the limit (query length: {GoSeconds((endNs - startNs) / GoDuration.Second)}, limit: {GoDuration.Format(maxNs)})");
        }
    }

    /// <summary>Whole seconds as Go's time.Duration prints them: <c>722h0m0s</c>, <c>5m0s</c>, <c>42s</c>.</summary>
    private static string GoSeconds(long seconds)
    {
        var (h, m, sec) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return h > 0 ? $"{h}h{m}m{sec}s" : m > 0 ? $"{m}m{sec}s" : $"{sec}s";
    }

    private QueryResult Run(string tenant, Func<EvaluationContext, QueryResult> evaluate, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var store = MultiTenantQueryStore.IsMultiTenant(tenant) ? new MultiTenantQueryStore(_store) : _store;
        var ctx = new EvaluationContext(store, tenant, _options, linked.Token);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = evaluate(ctx);
            ctx.Statistics.ExecutionTime = Stopwatch.GetElapsedTime(started);
            return result;
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new LogQLTimeoutException($"query timed out after {GoDuration.Format(_options.Timeout.Ticks * 100)}", ex);
        }
    }

    private MatrixResult ToMatrix(EvaluationContext ctx, StepMatrix matrix, long startNs, long stepNs)
    {
        List<StepSeries> kept = [];
        foreach (var series in matrix.Series)
        {
            if (Array.IndexOf(series.Present, true) >= 0)
            {
                kept.Add(series);
            }
        }

        if (kept.Count > _options.MaxSeries)
        {
            throw SeriesLimit();
        }

        List<ResultSeries> result = new(kept.Count);
        long samples = 0;
        foreach (var series in kept)
        {
            List<SamplePoint> points = [];
            for (var k = 0; k < series.Values.Length; k++)
            {
                if (series.Present[k])
                {
                    points.Add(new SamplePoint(startNs + k * stepNs, series.Values[k]));
                }
            }

            samples += points.Count;
            result.Add(new ResultSeries(series.Labels, points));
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Metric.ToString(), b.Metric.ToString()));
        ctx.Statistics.ResultCount = samples;
        return new MatrixResult(result, ctx.Statistics);
    }

    /// <summary>What one entry of an answer holds besides its text (timestamp, string and list overheads), estimated.</summary>
    private const int EntryOverheadBytes = 48;

    private StreamsResult EvaluateLogs(EvaluationContext ctx, LogSelectorExpr selector, long startNs, long endNs, int limit, Direction direction)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (limit > _options.MaxEntriesLimit)
        {
            throw new LogQLLimitException($"max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {_options.MaxEntriesLimit})");
        }

        var pipeline = new CompiledPipeline(selector.Stages);
        var forward = direction == Direction.Forward;

        // One lazy cursor per stream, merged by timestamp with a heap: only the head entry of each stream is held.
        var heap = new PriorityQueue<LogCursor, (long Ts, int Index)>(Comparer<(long Ts, int Index)>.Create(
            forward
                ? static (a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : a.Index.CompareTo(b.Index)
                : static (a, b) => a.Ts != b.Ts ? b.Ts.CompareTo(a.Ts) : a.Index.CompareTo(b.Index)));
        var index = 0;
        List<LogCursor> cursors = [];
        try
        {
            foreach (var stream in ctx.Store.SelectStreams(ctx.Tenant, selector.Matchers, startNs, endNs))
            {
                ctx.Statistics.StreamsSelected++;
                ctx.CancellationToken.ThrowIfCancellationRequested();
                var cursor = new LogCursor(ctx, pipeline.ForStream(stream.Labels),
                    ctx.Store.ReadEntries(ctx.Tenant, stream, startNs, endNs, direction).GetEnumerator(), index++);
                cursors.Add(cursor);
                if (cursor.MoveNext())
                {
                    heap.Enqueue(cursor, (cursor.Timestamp, cursor.Index));
                }
            }

            var groups = new Dictionary<LabelSet, List<ResultEntry>>();
            var count = 0;
            while (count < limit && heap.TryDequeue(out var cursor, out _))
            {
                if (!groups.TryGetValue(cursor.Labels, out var entries))
                {
                    entries = [];
                    groups[cursor.Labels] = entries;
                }

                var text = cursor.Processor.Line.Text;
                ctx.Hold(EntryOverheadBytes + (2L * text.Length));
                entries.Add(new ResultEntry(cursor.Timestamp, text)
                {
                    StreamLabels = cursor.Processor.StreamLabels,
                    StructuredMetadata = cursor.Metadata,
                });
                count++;
                if (count < limit && cursor.MoveNext())
                {
                    heap.Enqueue(cursor, (cursor.Timestamp, cursor.Index));
                }
            }

            List<StreamResult> streams = new(groups.Count);
            foreach (var (labels, entries) in groups)
            {
                streams.Add(new StreamResult(labels, entries));
            }

            streams.Sort(static (a, b) => string.CompareOrdinal(a.Labels.ToString(), b.Labels.ToString()));
            ctx.Statistics.ResultCount = count;
            return new StreamsResult(streams, ctx.Statistics);
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                cursor.Dispose();
            }
        }
    }

    private sealed class LogCursor(EvaluationContext ctx, CompiledPipeline.StreamProcessor processor, IEnumerator<StoredEntry> entries, int index) : IDisposable
    {
        public CompiledPipeline.StreamProcessor Processor { get; } = processor;

        public int Index { get; } = index;

        public long Timestamp { get; private set; }

        public LabelSet Labels { get; private set; } = LabelSet.Empty;

        public LabelSet? Metadata { get; private set; }

        public bool MoveNext()
        {
            while (entries.MoveNext())
            {
                var entry = entries.Current;
                ctx.Count(entry);
                if (Processor.Process(entry))
                {
                    Timestamp = entry.Timestamp;
                    Metadata = entry.StructuredMetadata;
                    Labels = Processor.Labels.Build();
                    return true;
                }
            }

            return false;
        }

        public void Dispose() => entries.Dispose();
    }
}

/// <summary>The state one query evaluation shares: store, tenant, limits, cancellation, statistics.</summary>
internal sealed class EvaluationContext(ILogQueryStore store, string tenant, LogQLEngineOptions options, CancellationToken cancellationToken)
{
    private int _sinceCheck;

    public ILogQueryStore Store { get; } = store;

    public string Tenant { get; } = tenant;

    public LogQLEngineOptions Options { get; } = options;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public QueryStatistics Statistics { get; } = new();

    /// <summary>The bytes the query holds now (estimated), for <see cref="LogQLEngineOptions.MaxQueryBytes"/>.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> more held by the query; throws when that passes the per-query limit.</summary>
    /// <exception cref="LogQLLimitException">The query would hold more than <see cref="LogQLEngineOptions.MaxQueryBytes"/>.</exception>
    public void Hold(long bytes)
    {
        HeldBytes += bytes;
        if (HeldBytes > Options.MaxQueryBytes)
        {
            throw new LogQLLimitException(
                $"the query would hold more than {Options.MaxQueryBytes} bytes (max_query_bytes) in its series and entries; " +
                "reduce the time range, raise the step, group by fewer labels or lower the limit");
        }
    }

    /// <summary>Counts an entry read and, every few thousand, checks for cancellation and time-out.</summary>
    public void Count(in StoredEntry entry)
    {
        Statistics.LinesScanned++;
        Statistics.BytesScanned += entry.Line.Length;
        if (++_sinceCheck >= 4096)
        {
            _sinceCheck = 0;
            CancellationToken.ThrowIfCancellationRequested();
        }
    }
}
