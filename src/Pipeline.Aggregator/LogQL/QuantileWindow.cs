namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The samples of one <c>quantile_over_time</c> window in bounded memory: exact (every value kept) up to
/// <see cref="ExactCapacity"/> samples, then a DDSketch-like log-bucketed sketch whose quantiles are within
/// <see cref="RelativeError"/> (0.5 %) of the exact answer, relative to its value, whatever the number of samples.
/// </summary>
/// <remarks>
/// Buckets are <c>(γ^(i-1), γ^i]</c> with <c>γ = (1 + α) / (1 − α)</c>; a bucket stands for <c>2γ^i / (γ + 1)</c>, which is
/// within α of every value in it. Positive and negative values have their own buckets, zeros, infinities and NaN
/// their own counts. Buckets of one sign are one array over the indexes in use; past <see cref="MaxBuckets"/> indexes
/// the smallest magnitudes are merged into the lowest kept bucket (DDSketch's collapsing store), which can only affect
/// quantiles among the smallest magnitudes (values spanning more than about 17 decades).
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
    private Buckets? _positive;
    private Buckets? _negative;
    private long _zeros;
    private long _nan;
    private long _positiveInfinity;
    private long _negativeInfinity;

    /// <summary>The bytes the window holds now: its exact samples or its bucket arrays, plus the object itself.</summary>
    public long Bytes => 96 + (8L * ((_exact?.Length ?? 0) + (_positive?.Capacity ?? 0) + (_negative?.Capacity ?? 0)));

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
        _positive = new Buckets();
        _negative = new Buckets();
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
            store.Add((int)Math.Ceiling(Math.Log(Math.Abs(value)) / s_logGamma));
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
        var negative = _negative!;
        for (var index = negative.High; index >= negative.Low; index--)
        {
            var count = negative[index];
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
        var positive = _positive!;
        for (var index = positive.Low; index <= positive.High; index++)
        {
            var count = positive[index];
            if (rank < count)
            {
                return Representative(index);
            }

            rank -= count;
        }

        return double.PositiveInfinity;
    }

    /// <summary>
    /// Counts by bucket index in one array over the indexes in use (DDSketch's dense store): O(1) per sample. Past
    /// <see cref="MaxBuckets"/> indexes the lowest are merged into the lowest kept one.
    /// </summary>
    private sealed class Buckets
    {
        private long[] _counts = new long[64];
        private int _offset;
        private bool _any;

        /// <summary>The lowest index in use (inclusive); empty when greater than <see cref="High"/>.</summary>
        public int Low { get; private set; }

        /// <summary>The highest index in use (inclusive).</summary>
        public int High { get; private set; } = -1;

        public long this[int index] => _counts[index - _offset];

        public int Capacity => _counts.Length;

        public void Add(int index)
        {
            if (!_any)
            {
                _any = true;
                _offset = index - (_counts.Length / 2);
                Low = High = index;
            }
            else if (index < Low || index > High)
            {
                var low = Math.Min(Low, index);
                var high = Math.Max(High, index);
                if (high - low + 1 > MaxBuckets)
                {
                    low = high - MaxBuckets + 1;
                }

                Extend(low, high);
            }

            _counts[Math.Max(index, Low) - _offset]++;
        }

        private void Extend(int low, int high)
        {
            // Collapsing: what lies below the new low is counted at it.
            long collapsed = 0;
            for (var k = Low; k < low && k <= High; k++)
            {
                collapsed += _counts[k - _offset];
                _counts[k - _offset] = 0;
            }

            var length = high - low + 1;
            if (low < _offset || high >= _offset + _counts.Length)
            {
                var size = Math.Max(length, Math.Min(MaxBuckets, _counts.Length * 2));
                var offset = low - ((size - length) / 2);
                var counts = new long[size];
                for (var k = Math.Max(Low, low); k <= High; k++)
                {
                    counts[k - offset] = _counts[k - _offset];
                }

                _counts = counts;
                _offset = offset;
            }

            _counts[low - _offset] += collapsed;
            Low = low;
            High = high;
        }
    }
}
