namespace Pipeline.Runtime;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>'s monotonic clock, with the semantics of Go's
/// <c>golang.org/x/time/rate</c> (which Promtail's <c>limit</c> stage and Loki's distributor use): it starts full,
/// refills at the rate up to the burst, and a request larger than the burst never passes. Not thread-safe.
/// </summary>
public sealed class TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private readonly TimeProvider _time;
    private double _tokens;
    private long _last;

    /// <summary>Creates a full bucket.</summary>
    /// <param name="ratePerSecond">Tokens added per second.</param>
    /// <param name="burst">The most tokens the bucket holds.</param>
    /// <param name="time">The clock.</param>
    /// <exception cref="ArgumentOutOfRangeException">The rate is not positive or the burst is negative.</exception>
    public TokenBucket(double ratePerSecond, double burst, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfNegative(burst);
        ArgumentNullException.ThrowIfNull(time);
        _rate = ratePerSecond;
        _burst = burst;
        _time = time;
        _tokens = burst;
        _last = time.GetTimestamp();
    }

    /// <summary>Takes <paramref name="amount"/> tokens if the bucket holds them.</summary>
    /// <param name="amount">How many (a line, or a request's bytes).</param>
    /// <returns>Whether they were taken.</returns>
    public bool TryTake(double amount = 1)
    {
        Refill();
        if (amount > _tokens)
        {
            return false;
        }

        _tokens -= amount;
        return true;
    }

    /// <summary>How long until <paramref name="amount"/> tokens are available (at least 1 ms).</summary>
    /// <param name="amount">How many.</param>
    /// <returns>The wait.</returns>
    public TimeSpan TimeUntilAvailable(double amount = 1)
    {
        Refill();
        var missing = Math.Max(0, amount - _tokens);
        return TimeSpan.FromSeconds(Math.Max(missing / _rate, 0.001));
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_last, now).TotalSeconds;
        _last = now;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_burst, _tokens + (elapsed * _rate));
        }
    }
}
