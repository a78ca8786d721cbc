namespace Pipeline.Delivery;

/// <summary>How a request ended: delivered (2xx), or definitively dropped for a reason (counted).</summary>
/// <param name="Delivered">Whether the receiver took the request.</param>
/// <param name="DropReason">Why the items were dropped (e.g. <c>http_400</c>, <c>max_retries</c>); <see langword="null"/> when delivered.</param>
public readonly record struct DeliveryResult(bool Delivered, string? DropReason)
{
    /// <summary>The request was delivered.</summary>
    public static DeliveryResult Sent => new(true, null);

    /// <summary>The request's items were dropped for <paramref name="reason"/>.</summary>
    /// <param name="reason">The <c>reason</c> tag of the dropped counter.</param>
    /// <returns>The result.</returns>
    public static DeliveryResult Dropped(string reason) => new(false, reason);
}

/// <summary>Whether a response or failure is worth retrying.</summary>
public enum DeliveryFailureKind
{
    /// <summary>Not a failure: 2xx.</summary>
    None,

    /// <summary>Retry: a network error or time-out, 429, or 5xx.</summary>
    Retryable,

    /// <summary>Do not retry: any other status (other 4xx); the items are dropped and counted.</summary>
    Permanent,
}

/// <summary>The retry classification shared by every sink on the delivery layer.</summary>
public static class DeliveryClassifier
{
    /// <summary>Classifies an HTTP status; 0 stands for a network error or time-out.</summary>
    /// <param name="status">The status code, or 0.</param>
    /// <returns>The kind of failure.</returns>
    public static DeliveryFailureKind Classify(int status) => status switch
    {
        >= 200 and < 300 => DeliveryFailureKind.None,
        0 or 429 or >= 500 => DeliveryFailureKind.Retryable,
        _ => DeliveryFailureKind.Permanent,
    };
}
