namespace Pipeline.Aggregator.Distributor;

/// <summary>Loki's <c>reason</c> label values of <c>discarded_samples_total</c>.</summary>
internal static class DiscardReason
{
    public const string RateLimited = "rate_limited";
    public const string LineTooLong = "line_too_long";
    public const string StreamLimit = "stream_limit";
    public const string StreamRateLimit = "per_stream_rate_limit";
    public const string TooFarBehind = "too_far_behind";
    public const string GreaterThanMaxSampleAge = "greater_than_max_sample_age";
    public const string TooFarInFuture = "too_far_in_future";
    public const string MaxLabelNamesPerSeries = "max_label_names_per_series";
    public const string LabelNameTooLong = "label_name_too_long";
    public const string LabelValueTooLong = "label_value_too_long";
    public const string InvalidLabels = "invalid_labels";
    public const string RequestBodyTooLarge = "request_body_too_large";
}
