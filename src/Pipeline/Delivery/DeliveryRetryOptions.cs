namespace Pipeline.Delivery;

/// <summary>
/// How a sink on the delivery layer retries a request that failed in a retryable way (a network error, a time-out,
/// 429 or 5xx): exponential backoff from <see cref="MinBackoff"/> doubling to <see cref="MaxBackoff"/>, with optional
/// jitter, and a server's <c>Retry-After</c> honoured up to <see cref="MaxRetryAfter"/>.
/// </summary>
public sealed class DeliveryRetryOptions
{
    /// <summary>Default <see cref="MaxRetryAfter"/>: 5 minutes.</summary>
    public static TimeSpan DefaultMaxRetryAfter { get; } = TimeSpan.FromMinutes(5);

    /// <summary>The first retry's delay; each further retry doubles it up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest backoff delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Retries after the first attempt before the request's items are dropped and counted
    /// (<c>dropped{reason="max_retries"}</c>); <see langword="null"/> retries until the request succeeds or the sink is aborted.
    /// </summary>
    public int? MaxRetries { get; init; }

    /// <summary>
    /// Whether delays are spread: a backoff <c>b</c> becomes a delay between <c>b</c> and <c>1.5 b</c>, and at the cap
    /// one within its last quarter, so that clients that failed together do not retry together.
    /// </summary>
    public bool Jitter { get; init; } = true;

    /// <summary>The longest <c>Retry-After</c> believed (or <see cref="MaxBackoff"/>, when that is longer).</summary>
    public TimeSpan MaxRetryAfter { get; init; } = DefaultMaxRetryAfter;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A duration is not positive, <see cref="MaxBackoff"/> is below <see cref="MinBackoff"/>, or <see cref="MaxRetries"/> is negative.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MinBackoff, TimeSpan.Zero, nameof(MinBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBackoff, MinBackoff, nameof(MaxBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryAfter, TimeSpan.Zero, nameof(MaxRetryAfter));
        if (MaxRetries is { } retries)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(retries, nameof(MaxRetries));
        }
    }

    /// <summary>The backoff before retry number <paramref name="retry"/> (0-based), before jitter: <see cref="MinBackoff"/> doubled per retry, at most <see cref="MaxBackoff"/>.</summary>
    /// <param name="retry">How many retries came before this one.</param>
    /// <returns>The backoff.</returns>
    public TimeSpan Backoff(int retry)
    {
        var ticks = MinBackoff.Ticks * Math.Pow(2, Math.Clamp(retry, 0, 40));
        return ticks >= MaxBackoff.Ticks ? MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>The delay before retry number <paramref name="retry"/> (0-based): the server's <c>Retry-After</c> when it gave one (within <see cref="MaxRetryAfter"/>), else the backoff with jitter.</summary>
    /// <param name="retry">How many retries came before this one.</param>
    /// <param name="retryAfter">The server's <c>Retry-After</c>, if any.</param>
    /// <returns>The delay.</returns>
    public TimeSpan Delay(int retry, TimeSpan? retryAfter)
    {
        if (retryAfter is { } after)
        {
            // A server that says when to come back is up: it is believed, within reason.
            var ceiling = MaxBackoff > MaxRetryAfter ? MaxBackoff : MaxRetryAfter;
            return after > ceiling ? ceiling : after < TimeSpan.Zero ? TimeSpan.Zero : after;
        }

        var backoff = Backoff(retry);
        if (!Jitter)
        {
            return backoff;
        }

#pragma warning disable CA5394 // Jitter, not security.
        var delay = backoff + TimeSpan.FromTicks((long)(backoff.Ticks * 0.5 * Random.Shared.NextDouble()));
        if (delay > MaxBackoff)
        {
            delay = MaxBackoff - TimeSpan.FromTicks((long)(MaxBackoff.Ticks * 0.25 * Random.Shared.NextDouble()));
        }
#pragma warning restore CA5394

        return delay;
    }
}
