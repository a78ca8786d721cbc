using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The per-step state of one range-aggregation series. Counts and byte sums use difference arrays (O(1) per sample,
/// whatever range/step is); the other aggregations keep count, sum, min, max, first, last and Welford's variance per step.
/// </summary>
internal sealed class RangeAccumulator
{
    private readonly int _steps;
    private readonly bool _additive;
    private readonly long[] _count;
    private readonly double[] _sum;
    private readonly double[]? _min;
    private readonly double[]? _max;
    private readonly double[]? _mean;
    private readonly double[]? _m2;
    private readonly long[]? _firstTs;
    private readonly double[]? _first;
    private readonly long[]? _lastTs;
    private readonly double[]? _last;
    private readonly QuantileWindow?[]? _values;

    private readonly EvaluationContext? _ctx;

    /// <summary>Creates the state of a series; with <paramref name="ctx"/>, what it holds counts towards the query's memory limit.</summary>
    public RangeAccumulator(LabelSet labels, int steps, bool additive, bool keepValues, EvaluationContext? ctx = null)
    {
        Labels = labels;
        _steps = steps;
        _additive = additive;
        _ctx = ctx;

        // Two arrays of 8-byte values per step when additive; ten, plus a window reference for quantiles, otherwise.
        ctx?.Hold(SeriesOverheadBytes + ((long)steps * (additive ? 16 : keepValues ? 88 : 80)));
        if (additive)
        {
            _count = new long[steps + 1];
            _sum = new double[steps + 1];
            return;
        }

        _count = new long[steps];
        _sum = new double[steps];
        _min = new double[steps];
        _max = new double[steps];
        _mean = new double[steps];
        _m2 = new double[steps];
        _firstTs = new long[steps];
        _first = new double[steps];
        _lastTs = new long[steps];
        _last = new double[steps];
        if (keepValues)
        {
            _values = new QuantileWindow?[steps];
        }
    }

    /// <summary>What a series holds besides its per-step arrays (labels, object and dictionary overheads), estimated.</summary>
    public const int SeriesOverheadBytes = 256;

    public LabelSet Labels { get; }

    public void Add(int kLo, int kHi, long ts, double value)
    {
        if (_additive)
        {
            _count[kLo]++;
            _count[kHi + 1]--;
            _sum[kLo] += value;
            _sum[kHi + 1] -= value;
            return;
        }

        for (var k = kLo; k <= kHi; k++)
        {
            var n = ++_count[k];
            _sum[k] += value;
            if (n == 1)
            {
                _min![k] = _max![k] = value;
                _firstTs![k] = _lastTs![k] = ts;
                _first![k] = _last![k] = value;
            }
            else
            {
                _min![k] = Math.Min(_min[k], value);
                _max![k] = Math.Max(_max[k], value);
                if (ts < _firstTs![k])
                {
                    _firstTs[k] = ts;
                    _first![k] = value;
                }

                if (ts >= _lastTs![k])
                {
                    _lastTs[k] = ts;
                    _last![k] = value;
                }
            }

            var delta = value - _mean![k];
            _mean[k] += delta / n;
            _m2![k] += delta * (value - _mean[k]);
            if (_values is not null)
            {
                if (_values[k] is not { } window)
                {
                    window = _values[k] = new QuantileWindow();
                    _ctx?.Hold(window.Bytes);
                }

                // A window grows (exact samples, then sketch buckets, both bounded): what it grows by is counted.
                var before = window.Bytes;
                window.Add(value);
                if (window.Bytes != before)
                {
                    _ctx?.Hold(window.Bytes - before);
                }
            }
        }
    }

    public StepSeries Finish(string op, double rangeSeconds, double parameter)
    {
        var series = new StepSeries(Labels, _steps);
        long count = 0;
        double sum = 0;
        for (var k = 0; k < _steps; k++)
        {
            if (_additive)
            {
                count += _count[k];
                sum += _sum[k];
            }
            else
            {
                count = _count[k];
                sum = _sum[k];
            }

            if (count <= 0)
            {
                continue;
            }

            series.Present[k] = true;
            series.Values[k] = op switch
            {
                "count_over_time" => count,
                "rate" => sum / rangeSeconds,
                "bytes_over_time" => sum,
                "bytes_rate" => sum / rangeSeconds,
                "sum_over_time" => sum,
                "avg_over_time" => sum / count,
                "min_over_time" => _min![k],
                "max_over_time" => _max![k],
                "first_over_time" => _first![k],
                "last_over_time" => _last![k],
                "stddev_over_time" => Math.Sqrt(_m2![k] / count),
                "stdvar_over_time" => _m2![k] / count,
                "quantile_over_time" => _values![k]!.Quantile(parameter),
                _ => throw new NotSupportedException(op),
            };
        }

        return series;
    }
}
