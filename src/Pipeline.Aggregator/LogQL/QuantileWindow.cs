namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The samples of one <c>quantile_over_time</c> window in bounded memory: exact (every value kept) up to
/// <see cref="ExactCapacity"/> samples, then a DDSketch-like log-bucketed sketch whose quantiles are within
/// <see cref="RelativeError"/> (0.5 %) of the exact answer, relative to its value, whatever the number of samples.
/// </summary>
/// <remarks>
/// Buckets are <c>(γ^(i-1), γ^i]</c> with <c>γ = (1 + α) / (1 − α)</c>; a bucket stands for <c>2γ^i / (γ + 1)</c>, which is
/// within α of every value in it. Positive and negative values have their own buckets, zeros, infinities and NaN
/// their own counts. Past <see cref="MaxBuckets"/> buckets on one side the two smallest-magnitude buckets are merged
/// (DDSketch's collapsing store), which can only affect quantiles among the smallest magnitudes.
/// </remarks>
internal sealed class QuantileWindow
{
    /// <summary>Samples kept exactly before the window becomes a sketch.</summary>
    public const int ExactCapacity = 512;

    /// <summary>The largest relative error of a quantile once the window is a sketch.</summary>
    public const double RelativeError = 0.005;

    /// <summary>Most buckets on each side: values spanning 1e-9 to 1e12 need about 2,400.</summary>
    public const int MaxBuckets = 4096;

    private static readonly double s_gamma = (1 + RelativeError) / (1 - RelativeError);
    private static readonly double s_logGamma = Math.Log(s_gamma);

    private double[]? _exact = new double[16];
    private int _count;
    private SortedDictionary<int, long>? _positive;
    private SortedDictionary<int, long>? _negative;
    private long _zeros;
    private long _nan;
    private long _positiveInfinity;
    private long _negativeInfinity;

    /// <summary>The number of samples added.</summary>
    public long Count { get; private set; }

    public void Add(double value)
    {
        Count++;
        if (_exact is not null)
        {
            if (_count == _exact.Length)
            {
                if (_count < ExactCapacity)
                {
                    Array.Resize(ref _exact, Math.Min(ExactCapacity, _count * 2));
                }
                else
                {
                    ToSketch();
                    AddToSketch(value);
                    return;
                }
            }

            _exact[_count++] = value;
            return;
        }

        AddToSketch(value);
    }

    /// <summary>Prometheus' quantile: linear interpolation between the closest ranks; outside [0, 1] gives ±Inf.</summary>
    public double Quantile(double q)
    {
        if (Count == 0 || double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        var rank = q * (Count - 1);
        var lower = (long)Math.Max(0, Math.Floor(rank));
        var upper = Math.Min(Count - 1, lower + 1);
        var weight = rank - Math.Floor(rank);
        if (_exact is not null)
        {
            // .NET's order puts NaN first, as Go's sort does for Prometheus' quantile.
            Array.Sort(_exact, 0, _count);
            return Interpolate(_exact[lower], _exact[upper], weight);
        }

        return Interpolate(ValueAtRank(lower), ValueAtRank(upper), weight);
    }

    private static double Interpolate(double lower, double upper, double weight) =>
        weight == 0 ? lower : (lower * (1 - weight)) + (upper * weight);

    private void ToSketch()
    {
        _positive = [];
        _negative = [];
        var exact = _exact!;
        var count = _count;
        _exact = null;
        _count = 0;
        for (var i = 0; i < count; i++)
        {
            AddToSketch(exact[i]);
        }
    }

    private void AddToSketch(double value)
    {
        if (double.IsNaN(value))
        {
            _nan++;
        }
        else if (double.IsPositiveInfinity(value))
        {
            _positiveInfinity++;
        }
        else if (double.IsNegativeInfinity(value))
        {
            _negativeInfinity++;
        }
        else if (value == 0)
        {
            _zeros++;
        }
        else
        {
            var store = value > 0 ? _positive! : _negative!;
            var index = (int)Math.Ceiling(Math.Log(Math.Abs(value)) / s_logGamma);
            store[index] = store.GetValueOrDefault(index) + 1;
            if (store.Count > MaxBuckets)
            {
                // Merge the two smallest magnitudes into the larger of them.
                using var e = store.GetEnumerator();
                e.MoveNext();
                var (first, firstCount) = e.Current;
                e.MoveNext();
                var second = e.Current.Key;
                store.Remove(first);
                store[second] += firstCount;
            }
        }
    }

    private static double Representative(int index) => 2 * Math.Pow(s_gamma, index) / (s_gamma + 1);

    /// <summary>The value at a 0-based rank in ascending order: NaN, −Inf, negatives (largest magnitude first), zeros, positives, +Inf.</summary>
    private double ValueAtRank(long rank)
    {
        if (rank < _nan)
        {
            return double.NaN;
        }

        rank -= _nan;
        if (rank < _negativeInfinity)
        {
            return double.NegativeInfinity;
        }

        rank -= _negativeInfinity;
        foreach (var (index, count) in _negative!.Reverse())
        {
            if (rank < count)
            {
                return -Representative(index);
            }

            rank -= count;
        }

        if (rank < _zeros)
        {
            return 0;
        }

        rank -= _zeros;
        foreach (var (index, count) in _positive!)
        {
            if (rank < count)
            {
                return Representative(index);
            }

            rank -= count;
        }

        return double.PositiveInfinity;
    }
}
