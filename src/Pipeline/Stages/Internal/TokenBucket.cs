namespace Pipeline.Stages.Internal;

/// <summary>A token bucket on a <see cref="TimeProvider"/>'s monotonic clock (golang.org/x/time/rate semantics: starts full).</summary>
internal sealed class TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private long _last;

    public TokenBucket(double ratePerSecond, int burst, TimeProvider time)
    {
        _rate = ratePerSecond;
        _burst = burst;
        _tokens = burst;
        _last = time.GetTimestamp();
    }

    public bool TryTake(TimeProvider time)
    {
        Refill(time);
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return true;
        }

        return false;
    }

    public TimeSpan TimeUntilNextToken(TimeProvider time)
    {
        Refill(time);
        var missing = Math.Max(0, 1 - _tokens);
        return TimeSpan.FromSeconds(Math.Max(missing / _rate, 0.001));
    }

    private void Refill(TimeProvider time)
    {
        var now = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(_last, now).TotalSeconds;
        _last = now;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_burst, _tokens + (elapsed * _rate));
        }
    }
}
