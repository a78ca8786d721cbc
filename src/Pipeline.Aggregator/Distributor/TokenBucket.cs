namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>'s timestamps, like Go's <c>rate.Limiter.AllowN</c>: a request
/// larger than the burst never passes. Not thread-safe; callers lock.
/// </summary>
internal sealed class TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private long _last;

    public TokenBucket(double ratePerSecond, double burst, long now)
    {
        _rate = ratePerSecond;
        _burst = burst;
        _tokens = burst;
        _last = now;
    }

    public bool TryTake(double amount, long now, TimeProvider time)
    {
        var elapsed = time.GetElapsedTime(_last, now).TotalSeconds;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_burst, _tokens + (elapsed * _rate));
            _last = now;
        }

        if (amount > _tokens)
        {
            return false;
        }

        _tokens -= amount;
        return true;
    }
}
