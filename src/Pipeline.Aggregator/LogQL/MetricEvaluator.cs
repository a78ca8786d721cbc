using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>One series over the steps of a query: a value and a presence flag per step.</summary>
internal sealed class StepSeries(LabelSet labels, int steps)
{
    public LabelSet Labels { get; set; } = labels;

    public double[] Values { get; } = new double[steps];

    public bool[] Present { get; } = new bool[steps];
}

/// <summary>Series over the steps of a query; a scalar is one label-less series present at every step.</summary>
internal sealed class StepMatrix(bool isScalar, List<StepSeries> series)
{
    public bool IsScalar { get; } = isScalar;

    public List<StepSeries> Series { get; } = series;
}

/// <summary>
/// Evaluates metric expressions at steps <c>start + k*step</c>. Range aggregations read each selected stream once, forward,
/// and add every sample to the windows <c>(t - range, t]</c> that contain it, so memory is series x steps, not data size.
/// </summary>
internal sealed class MetricEvaluator(EvaluationContext ctx, long startNs, long stepNs, int steps)
{
    public StepMatrix Evaluate(SampleExpr expr)
    {
        ctx.CancellationToken.ThrowIfCancellationRequested();
        return expr switch
        {
            LiteralExpr literal => Scalar(literal.Value),
            VectorLiteralExpr vector => Constant(vector.Value, isScalar: false),
            RangeAggregationExpr range => EvaluateRange(range, null),
            VectorAggregationExpr vector => EvaluateVectorAggregation(vector),
            BinaryExpr binary => EvaluateBinary(binary),
            LabelReplaceExpr replace => EvaluateLabelReplace(replace),
            _ => throw new NotSupportedException($"expression {expr} is not supported"),
        };
    }

    private StepMatrix Scalar(double value) => Constant(value, isScalar: true);

    private StepMatrix Constant(double value, bool isScalar)
    {
        var series = new StepSeries(LabelSet.Empty, steps);
        Array.Fill(series.Values, value);
        Array.Fill(series.Present, true);
        return new StepMatrix(isScalar, [series]);
    }

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    private static readonly Grouping s_everything = new(false, []);

    /// <summary>
    /// Whether <c>op by (...) (range)</c> equals the range aggregation keeping only the grouping labels while ranging
    /// (one series per group, merged as it goes): sums of counts, rates, byte counts and sums are the sum over the
    /// merged entries; the largest of maxima is the maximum of the merged values, the smallest of minima likewise. Not
    /// so for avg, count, stddev, quantiles or topk, which need each series' own value.
    /// </summary>
    internal static bool CanPushGrouping(string vectorOp, RangeAggregationExpr range) => vectorOp switch
    {
        "sum" => range.Op is "count_over_time" or "rate" or "bytes_over_time" or "bytes_rate" or "sum_over_time",
        "max" => range.Op is "max_over_time",
        "min" => range.Op is "min_over_time",
        _ => false,
    };

    /// <summary>Evaluates a range aggregation; with <paramref name="pushed"/>, each series keeps only that grouping's labels while ranging.</summary>
    private StepMatrix EvaluateRange(RangeAggregationExpr expr, Grouping? pushed = null)
    {
        var range = expr.Range;
        var offset = range.OffsetNs;
        var endNs = startNs + (steps - 1) * stepNs;

        // Windows are (t - offset - range, t - offset]; the store range is [from, to).
        var fromNs = startNs - offset - range.RangeNs + 1;
        var toNs = endNs - offset + 1;
        var op = expr.Op;
        var grouping = expr.Grouping;

        // Only the labels a by-grouping keeps reach the result: parsers need not make the others labels.
        var resultLabels = grouping is { Without: false } ? grouping.Labels
            : grouping is null && pushed is { Without: false } ? pushed.Labels
            : null;
        var pipeline = new CompiledPipeline(range.Selector.Stages, resultLabels, range.Unwrap);
        var additive = op is "count_over_time" or "rate" or "bytes_over_time" or "bytes_rate" or "absent_over_time" && range.Unwrap is null;
        var accumulators = new Dictionary<LabelSet, RangeAccumulator>();
        var unwrap = range.Unwrap;
        var keyBuilder = new LabelSetBuilder();

        // A by-grouping's key depends only on the values of its labels: while they repeat (a stream's own labels, a
        // parsed label with few values) the last entry's series is reused without building the key again.
        var pushedBy = grouping is null && pushed is { Without: false };
        var byNames = grouping is { Without: false } ? grouping.Labels : pushedBy ? pushed!.Labels : null;
        var lastValues = byNames is null ? null : new string?[byNames.Count];
        RangeAccumulator? lastAccumulator = null;

        foreach (var stream in ctx.Store.SelectStreams(ctx.Tenant, range.Selector.Matchers, fromNs, toNs))
        {
            ctx.Statistics.StreamsSelected++;
            ctx.CancellationToken.ThrowIfCancellationRequested();
            var processor = pipeline.ForStream(stream.Labels);
            RangeAccumulator? streamAccumulator = null;
            foreach (var entry in ctx.Store.ReadEntries(ctx.Tenant, stream, fromNs, toNs, Direction.Forward))
            {
                ctx.Count(entry);
                if (!processor.Process(entry))
                {
                    continue;
                }

                double value;
                var labels = processor.Labels;
                if (unwrap is null)
                {
                    value = op is "bytes_over_time" or "bytes_rate"
                        ? processor.Line.Bytes.Length
                        : 1;
                }
                else
                {
                    var text = labels.Get(unwrap.Label);
                    if (string.IsNullOrEmpty(text))
                    {
                        continue;
                    }

                    if (!TryConvert(text, unwrap.Conversion, out value, out var error))
                    {
                        labels.SetError(LogStage.SampleExtractionError, error);
                    }

                    var keep = true;
                    foreach (var filter in unwrap.PostFilters)
                    {
                        if (!LabelFilterStage.Evaluate(filter, labels))
                        {
                            keep = false;
                            break;
                        }
                    }

                    if (!keep)
                    {
                        continue;
                    }

                    if (grouping is null || grouping.Without)
                    {
                        labels.Delete(unwrap.Label);
                    }
                }

                RangeAccumulator accumulator;
                if (streamAccumulator is not null)
                {
                    accumulator = streamAccumulator;
                }
                else if (labels.HasError)
                {
                    throw PipelineError(labels);
                }
                else if (lastAccumulator is not null && SameValues(labels, byNames!, lastValues!))
                {
                    accumulator = lastAccumulator;
                }
                else
                {
                    // A by-grouping reads its labels straight from the entry, without building all of them.
                    var key = grouping is { Without: false } ? GroupBy(labels, grouping.Labels, keyBuilder)
                        : pushedBy ? GroupBy(labels, pushed!.Labels, keyBuilder)
                        : Group(labels.Build(), grouping, keyBuilder);
                    if (pushed is not null && !pushedBy)
                    {
                        key = Group(key, pushed, keyBuilder);
                    }

                    if (!accumulators.TryGetValue(key, out accumulator!))
                    {
                        if (accumulators.Count >= ctx.Options.MaxIntermediateSeries)
                        {
                            // Counted as the user gets them when a wrapping aggregation was pushed down; otherwise
                            // Loki's message says how to reduce them.
                            throw LogQLEngine.SeriesLimit(ctx.Options.MaxIntermediateSeries);
                        }

                        accumulator = new RangeAccumulator(key, steps, additive, op == "quantile_over_time", ctx);
                        accumulators[key] = accumulator;
                    }

                    if (byNames is not null)
                    {
                        for (var i = 0; i < byNames.Count; i++)
                        {
                            lastValues![i] = labels.Get(byNames[i]);
                        }

                        lastAccumulator = accumulator;
                    }

                    // Without per-entry label changes every entry of this stream lands in the same series.
                    if (!pipeline.HasStages && unwrap is null && entry.StructuredMetadata is null)
                    {
                        streamAccumulator = accumulator;
                    }
                }

                var shifted = entry.Timestamp + offset - startNs;
                var kLo = Math.Max(0, CeilDiv(shifted, stepNs));
                var kHi = Math.Min(steps - 1, CeilDiv(shifted + range.RangeNs, stepNs) - 1);
                if (kLo <= kHi)
                {
                    accumulator.Add((int)kLo, (int)kHi, entry.Timestamp, value);
                }
            }
        }

        if (op == "absent_over_time")
        {
            return Absent(range, accumulators.Values);
        }

        List<StepSeries> result = new(accumulators.Count);
        var rangeSeconds = range.RangeNs / 1e9;
        foreach (var accumulator in accumulators.Values)
        {
            result.Add(accumulator.Finish(op, rangeSeconds, expr.Parameter ?? 0));
        }

        return new StepMatrix(false, result);
    }

    private StepMatrix Absent(LogRangeExpr range, IEnumerable<RangeAccumulator> accumulators)
    {
        var present = new bool[steps];
        foreach (var accumulator in accumulators)
        {
            var series = accumulator.Finish("count_over_time", 1, 0);
            for (var k = 0; k < steps; k++)
            {
                present[k] |= series.Present[k];
            }
        }

        // Like Prometheus: the labels of the selector's equality matchers, unless a name repeats.
        var builder = new LabelSetBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var matcher in range.Selector.Matchers)
        {
            if (!seen.Add(matcher.Name))
            {
                duplicates.Add(matcher.Name);
            }
        }

        foreach (var matcher in range.Selector.Matchers)
        {
            if (matcher.Type == LabelMatchType.Equal && !duplicates.Contains(matcher.Name))
            {
                builder.Set(matcher.Name, matcher.Value);
            }
        }

        var absent = new StepSeries(builder.Build(), steps);
        for (var k = 0; k < steps; k++)
        {
            if (!present[k])
            {
                absent.Values[k] = 1;
                absent.Present[k] = true;
            }
        }

        return new StepMatrix(false, [absent]);
    }

    private static LogQLLimitException PipelineError(LabelsBuilder labels)
    {
        var error = labels.Get(LabelsBuilder.ErrorLabel);
        return new LogQLLimitException(
            $"pipeline error: '{error}' for series: '{labels.Build()}'.\n" +
            $"Use a label filter to intentionally skip this error. (e.g | __error__!=\"{error}\").\n" +
            "To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n" +
            "The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )");
    }

    private static bool TryConvert(string text, string? conversion, out double value, out string? error)
    {
        switch (conversion)
        {
            case "duration" or "duration_seconds":
                return LabelFilterStage.TryConvert(text, NumericKind.Duration, out value, out error);
            case "bytes":
                return LabelFilterStage.TryConvert(text, NumericKind.Bytes, out value, out error);
            default:
                return LabelFilterStage.TryConvert(text, NumericKind.Number, out value, out error);
        }
    }

    private static bool SameValues(LabelsBuilder labels, IReadOnlyList<string> names, string?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!string.Equals(labels.Get(names[i]), values[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The labels named by a <c>by</c> grouping, read from the entry's labels without building all of them.</summary>
    private static LabelSet GroupBy(LabelsBuilder labels, IReadOnlyList<string> names, LabelSetBuilder builder)
    {
        builder.Reset(LabelSet.Empty);
        foreach (var name in names)
        {
            var value = labels.Get(name);
            if (!string.IsNullOrEmpty(value) && (name != LabelsBuilder.ErrorDetailsLabel || labels.HasError))
            {
                builder.Set(name, value);
            }
        }

        return builder.Build();
    }

    private static LabelSet Group(LabelSet labels, Grouping? grouping, LabelSetBuilder builder)
    {
        if (grouping is null)
        {
            return labels;
        }

        if (grouping.Without)
        {
            builder.Reset(labels);
            foreach (var name in grouping.Labels)
            {
                builder.Remove(name);
            }

            return builder.Build();
        }

        builder.Reset(LabelSet.Empty);
        foreach (var name in grouping.Labels)
        {
            var value = labels[name];
            if (value is not null)
            {
                builder.Set(name, value);
            }
        }

        return builder.Build();
    }

    private StepMatrix EvaluateVectorAggregation(VectorAggregationExpr expr)
    {
        // Each group's series is merged while ranging: work and memory follow the series the user gets back.
        var inner = expr.Inner is RangeAggregationExpr range && CanPushGrouping(expr.Op, range)
            ? EvaluateRange(range, expr.Grouping ?? s_everything)
            : Evaluate(expr.Inner);
        var builder = new LabelSetBuilder();
        var groups = new Dictionary<LabelSet, List<StepSeries>>();
        foreach (var series in inner.Series)
        {
            var key = expr.Grouping is null ? LabelSet.Empty : Group(series.Labels, expr.Grouping, builder);
            if (!groups.TryGetValue(key, out var members))
            {
                members = [];
                groups[key] = members;
            }

            members.Add(series);
        }

        if (expr.Op is "sort" or "sort_desc")
        {
            // Order is the result's business (an instant vector by value); the series are unchanged.
            return inner;
        }

        if (expr.Op is "topk" or "bottomk")
        {
            return TopK(expr.Op == "topk", (int)expr.Parameter!.Value, groups.Values);
        }

        if (expr.Op == "count_values")
        {
            return CountValues(expr.Label!, groups, builder);
        }

        List<StepSeries> result = new(groups.Count);
        foreach (var (key, members) in groups)
        {
            var output = new StepSeries(key, steps);
            for (var k = 0; k < steps; k++)
            {
                double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity, mean = 0, m2 = 0;
                var count = 0;
                foreach (var series in members)
                {
                    if (!series.Present[k])
                    {
                        continue;
                    }

                    var v = series.Values[k];
                    count++;
                    sum += v;
                    min = Math.Min(min, v);
                    max = Math.Max(max, v);
                    var delta = v - mean;
                    mean += delta / count;
                    m2 += delta * (v - mean);
                }

                if (count == 0)
                {
                    continue;
                }

                output.Present[k] = true;
                output.Values[k] = expr.Op switch
                {
                    "sum" => sum,
                    "avg" => sum / count,
                    "min" => min,
                    "max" => max,
                    "count" => count,
                    "stddev" => Math.Sqrt(m2 / count),
                    "stdvar" => m2 / count,
                    _ => throw new NotSupportedException(expr.Op),
                };
            }

            result.Add(output);
        }

        return new StepMatrix(false, result);
    }

    /// <summary>One series per group and distinct value, the value written to <paramref name="label"/> as Prometheus formats it, counting the series that have it.</summary>
    private StepMatrix CountValues(string label, Dictionary<LabelSet, List<StepSeries>> groups, LabelSetBuilder builder)
    {
        var outputs = new Dictionary<LabelSet, StepSeries>();
        foreach (var (key, members) in groups)
        {
            foreach (var series in members)
            {
                for (var k = 0; k < steps; k++)
                {
                    if (!series.Present[k])
                    {
                        continue;
                    }

                    builder.Reset(key);
                    builder.Set(label, GoNumber.FormatDecimal(series.Values[k]));
                    var labels = builder.Build();
                    if (!outputs.TryGetValue(labels, out var output))
                    {
                        if (outputs.Count >= ctx.Options.MaxIntermediateSeries)
                        {
                            throw LogQLEngine.SeriesLimit(ctx.Options.MaxIntermediateSeries);
                        }

                        output = new StepSeries(labels, steps);
                        outputs[labels] = output;
                    }

                    output.Present[k] = true;
                    output.Values[k]++;
                }
            }
        }

        return new StepMatrix(false, [.. outputs.Values]);
    }

    /// <summary>
    /// Prometheus' <c>label_replace</c>: where the anchored pattern matches the source label's value (empty when absent),
    /// the destination label becomes the expanded replacement, or is removed when that is empty; other series are unchanged.
    /// </summary>
    private StepMatrix EvaluateLabelReplace(LabelReplaceExpr expr)
    {
        var inner = Evaluate(expr.Inner);
        if (inner.IsScalar)
        {
            return inner;
        }

        var builder = new LabelSetBuilder();
        var text = new System.Text.StringBuilder();
        var outputs = new Dictionary<LabelSet, StepSeries>();
        foreach (var series in inner.Series)
        {
            var labels = series.Labels;
            var match = expr.Compiled.Match(labels[expr.Source] ?? string.Empty);
            if (match.Success)
            {
                text.Clear();
                Pipeline.LogQL.Re2.Re2Expand.Expand(text, expr.Replacement, expr.Compiled, match);
                builder.Reset(labels);
                if (text.Length == 0)
                {
                    builder.Remove(expr.Destination);
                }
                else
                {
                    builder.Set(expr.Destination, text.ToString());
                }

                labels = builder.Build();
            }

            if (!outputs.TryGetValue(labels, out var output))
            {
                series.Labels = labels;
                outputs[labels] = series;
                continue;
            }

            // Two series now share their labels: fine at steps where only one has a sample, as Prometheus sees it step by step.
            for (var k = 0; k < steps; k++)
            {
                if (!series.Present[k])
                {
                    continue;
                }

                if (output.Present[k])
                {
                    throw new LogQLLimitException("vector cannot contain metrics with the same labelset");
                }

                output.Present[k] = true;
                output.Values[k] = series.Values[k];
            }
        }

        return new StepMatrix(false, [.. outputs.Values]);
    }

    private StepMatrix TopK(bool top, int k, IEnumerable<List<StepSeries>> groups)
    {
        var outputs = new Dictionary<StepSeries, StepSeries>();
        var candidates = new List<(double Value, StepSeries Series)>();
        foreach (var members in groups)
        {
            for (var step = 0; step < steps; step++)
            {
                candidates.Clear();
                foreach (var series in members)
                {
                    if (series.Present[step])
                    {
                        candidates.Add((series.Values[step], series));
                    }
                }

                // Largest first for topk, smallest first for bottomk; ties by labels for a stable answer.
                candidates.Sort((a, b) =>
                {
                    var c = top ? b.Value.CompareTo(a.Value) : a.Value.CompareTo(b.Value);
                    return c != 0 ? c : string.CompareOrdinal(a.Series.Labels.ToString(), b.Series.Labels.ToString());
                });
                for (var i = 0; i < Math.Min(k, candidates.Count); i++)
                {
                    var source = candidates[i].Series;
                    if (!outputs.TryGetValue(source, out var output))
                    {
                        output = new StepSeries(source.Labels, steps);
                        outputs[source] = output;
                    }

                    output.Present[step] = true;
                    output.Values[step] = candidates[i].Value;
                }
            }
        }

        return new StepMatrix(false, [.. outputs.Values]);
    }

    private StepMatrix EvaluateBinary(BinaryExpr expr)
    {
        var left = Evaluate(expr.Left);
        var right = Evaluate(expr.Right);
        if (left.IsScalar && right.IsScalar)
        {
            var output = new StepSeries(LabelSet.Empty, steps);
            for (var k = 0; k < steps; k++)
            {
                var (value, keep) = Apply(expr.Op, left.Series[0].Values[k], right.Series[0].Values[k], returnBool: true);
                output.Values[k] = value;
                output.Present[k] = keep;
            }

            return new StepMatrix(true, [output]);
        }

        if (left.IsScalar || right.IsScalar)
        {
            var vector = left.IsScalar ? right : left;
            var scalar = left.IsScalar ? left.Series[0] : right.Series[0];
            List<StepSeries> result = new(vector.Series.Count);
            foreach (var series in vector.Series)
            {
                var output = new StepSeries(series.Labels, steps);
                for (var k = 0; k < steps; k++)
                {
                    if (!series.Present[k])
                    {
                        continue;
                    }

                    var (l, r) = left.IsScalar ? (scalar.Values[k], series.Values[k]) : (series.Values[k], scalar.Values[k]);
                    var (value, keep) = Apply(expr.Op, l, r, expr.ReturnBool);
                    if (keep)
                    {
                        output.Present[k] = true;
                        output.Values[k] = expr.IsComparison && !expr.ReturnBool ? series.Values[k] : value;
                    }
                }

                result.Add(output);
            }

            return new StepMatrix(false, result);
        }

        return expr.IsSetOp ? SetOperation(expr, left, right) : VectorVector(expr, left, right);
    }

    private static LabelSet Signature(LabelSet labels, VectorMatching? matching, LabelSetBuilder builder)
    {
        if (matching is null)
        {
            return labels;
        }

        if (matching.On)
        {
            builder.Reset(LabelSet.Empty);
            foreach (var name in matching.Labels)
            {
                var value = labels[name];
                if (value is not null)
                {
                    builder.Set(name, value);
                }
            }

            return builder.Build();
        }

        builder.Reset(labels);
        foreach (var name in matching.Labels)
        {
            builder.Remove(name);
        }

        return builder.Build();
    }

    private StepMatrix VectorVector(BinaryExpr expr, StepMatrix left, StepMatrix right)
    {
        // group_right is group_left with the sides swapped; the operator still sees the left operand first.
        var cardinality = expr.Matching?.Cardinality ?? MatchCardinality.OneToOne;
        var swapped = cardinality == MatchCardinality.OneToMany;
        var (many, one) = swapped ? (right, left) : (left, right);
        var builder = new LabelSetBuilder();
        var oneBySignature = new Dictionary<LabelSet, StepSeries>();
        foreach (var series in one.Series)
        {
            var signature = Signature(series.Labels, expr.Matching, builder);
            if (!oneBySignature.TryAdd(signature, series))
            {
                var side = swapped ? "left" : "right";
                throw new LogQLLimitException($"found duplicate series for the match group {signature} on the {side} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side");
            }
        }

        var outputs = new Dictionary<LabelSet, StepSeries>();
        foreach (var series in many.Series)
        {
            var signature = Signature(series.Labels, expr.Matching, builder);
            if (!oneBySignature.TryGetValue(signature, out var other))
            {
                continue;
            }

            var labels = cardinality != MatchCardinality.OneToOne ? Include(series.Labels, other.Labels, expr.Matching!.Include, builder)
                : expr.IsComparison && !expr.ReturnBool ? series.Labels
                : signature;
            if (!outputs.TryGetValue(labels, out var output))
            {
                output = new StepSeries(labels, steps);
                outputs[labels] = output;
            }

            for (var k = 0; k < steps; k++)
            {
                if (!series.Present[k] || !other.Present[k])
                {
                    continue;
                }

                if (output.Present[k])
                {
                    throw new LogQLLimitException(cardinality == MatchCardinality.OneToOne
                        ? "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        : "multiple matches for labels: grouping labels must ensure unique matches");
                }

                var (l, r) = swapped ? (other.Values[k], series.Values[k]) : (series.Values[k], other.Values[k]);
                var (value, keep) = Apply(expr.Op, l, r, expr.ReturnBool);
                if (keep)
                {
                    output.Present[k] = true;
                    output.Values[k] = value;
                }
            }
        }

        return new StepMatrix(false, [.. outputs.Values]);
    }

    /// <summary>The labels of a "many" side series with the <c>group_x</c> labels taken from the "one" side (removed where it has none).</summary>
    private static LabelSet Include(LabelSet many, LabelSet one, IReadOnlyList<string> include, LabelSetBuilder builder)
    {
        builder.Reset(many);
        foreach (var name in include)
        {
            var value = one[name];
            if (string.IsNullOrEmpty(value))
            {
                builder.Remove(name);
            }
            else
            {
                builder.Set(name, value);
            }
        }

        return builder.Build();
    }

    private StepMatrix SetOperation(BinaryExpr expr, StepMatrix left, StepMatrix right)
    {
        var builder = new LabelSetBuilder();
        var rightPresence = new Dictionary<LabelSet, bool[]>();
        foreach (var series in right.Series)
        {
            var signature = Signature(series.Labels, expr.Matching, builder);
            if (!rightPresence.TryGetValue(signature, out var present))
            {
                present = new bool[steps];
                rightPresence[signature] = present;
            }

            for (var k = 0; k < steps; k++)
            {
                present[k] |= series.Present[k];
            }
        }

        List<StepSeries> result = [];
        var leftPresence = new Dictionary<LabelSet, bool[]>();
        foreach (var series in left.Series)
        {
            var signature = Signature(series.Labels, expr.Matching, builder);
            rightPresence.TryGetValue(signature, out var other);
            var output = new StepSeries(series.Labels, steps);
            for (var k = 0; k < steps; k++)
            {
                if (!series.Present[k])
                {
                    continue;
                }

                var inRight = other is not null && other[k];
                var keep = expr.Op switch
                {
                    "and" => inRight,
                    "unless" => !inRight,
                    _ => true,
                };
                if (keep)
                {
                    output.Present[k] = true;
                    output.Values[k] = series.Values[k];
                }
            }

            result.Add(output);
            if (expr.Op == "or")
            {
                if (!leftPresence.TryGetValue(signature, out var present))
                {
                    present = new bool[steps];
                    leftPresence[signature] = present;
                }

                for (var k = 0; k < steps; k++)
                {
                    present[k] |= series.Present[k];
                }
            }
        }

        if (expr.Op == "or")
        {
            foreach (var series in right.Series)
            {
                var signature = Signature(series.Labels, expr.Matching, builder);
                leftPresence.TryGetValue(signature, out var present);
                var output = new StepSeries(series.Labels, steps);
                for (var k = 0; k < steps; k++)
                {
                    if (series.Present[k] && (present is null || !present[k]))
                    {
                        output.Present[k] = true;
                        output.Values[k] = series.Values[k];
                    }
                }

                result.Add(output);
            }
        }

        return new StepMatrix(false, result);
    }

    /// <summary>Applies an arithmetic or comparison operator; for a comparison, <c>keep</c> says whether it held (or, with bool, always true and the value is 0/1).</summary>
    private static (double Value, bool Keep) Apply(string op, double l, double r, bool returnBool)
    {
        switch (op)
        {
            case "+": return (l + r, true);
            case "-": return (l - r, true);
            case "*": return (l * r, true);
            case "/": return (l / r, true);
            case "%": return (l % r, true);
            case "^": return (Math.Pow(l, r), true);
        }

        var holds = op switch
        {
            "==" => l == r,
            "!=" => l != r,
            ">" => l > r,
            ">=" => l >= r,
            "<" => l < r,
            "<=" => l <= r,
            _ => throw new NotSupportedException(op),
        };
        return returnBool ? (holds ? 1 : 0, true) : (l, holds);
    }
}
