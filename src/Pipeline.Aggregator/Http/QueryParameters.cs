using System.Globalization;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL.Units;

namespace Pipeline.Aggregator.Http;

/// <summary>Parses Loki's query parameters the way Loki's <c>loghttp</c> package does.</summary>
internal static class QueryParameters
{
    private const long NanosPerSecond = 1_000_000_000;

    /// <summary>
    /// A time: a number with a fraction is Unix seconds, an integer of at most 10 digits is Unix seconds, a longer
    /// one Unix nanoseconds, anything else RFC 3339.
    /// </summary>
    public static bool TryParseTime(string? value, long defaultNs, out long ns, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(value))
        {
            ns = defaultNs;
            return true;
        }

        if (value.Contains('.', StringComparison.Ordinal)
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            var whole = Math.Floor(seconds);
            var fraction = Math.Round((seconds - whole) * 1000) / 1000;
            ns = ((long)whole * NanosPerSecond) + (long)(fraction * NanosPerSecond);
            return true;
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            ns = value.TrimStart('-').Length <= 10 ? integer * NanosPerSecond : integer;
            return true;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            && value.Contains('T', StringComparison.Ordinal))
        {
            ns = (time - DateTimeOffset.UnixEpoch).Ticks * 100;
            return true;
        }

        ns = 0;
        error = $"cannot parse \"{value}\" to a valid timestamp";
        return false;
    }

    /// <summary>A step or duration: a number of seconds (with a fraction) or a Prometheus duration such as <c>15s</c> or <c>1m30s</c>.</summary>
    public static bool TryParseDuration(string value, out long ns, out string? error)
    {
        error = null;
        if (GoDuration.TryParse(value, out ns, bareSeconds: true))
        {
            return true;
        }

        ns = 0;
        error = $"cannot parse \"{value}\" to a valid duration";
        return false;
    }

    /// <summary>
    /// The range of a metric query as Loki's query frontend runs it: start rounded down and end rounded up to a multiple
    /// of the step, so points fall on multiples of the step whatever start was asked.
    /// </summary>
    public static (long StartNs, long EndNs) AlignToStep(long startNs, long endNs, long stepNs)
    {
        if (stepNs <= 0)
        {
            return (startNs, endNs);
        }

        var start = startNs - Mod(startNs, stepNs);
        var endMod = Mod(endNs, stepNs);
        var end = endMod == 0 ? endNs : endNs + (stepNs - endMod);
        return (start, end);

        static long Mod(long value, long divisor) => ((value % divisor) + divisor) % divisor;
    }

    /// <summary>Loki's default step: the range divided into 250 points, at least 1 s.</summary>
    public static long DefaultStep(long startNs, long endNs) =>
        Math.Max((endNs - startNs) / NanosPerSecond / 250, 1) * NanosPerSecond;

    /// <summary>
    /// Whether a raw (percent-encoded) query string decodes to valid UTF-8. The decoded parameters cannot
    /// tell: the decoder keeps an undecodable escape such as <c>%FF</c> as it is.
    /// </summary>
    public static bool IsValidUtf8Query(string? raw)
    {
        if (string.IsNullOrEmpty(raw) || !raw.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }

        // Unescaped characters are already text; only escaped bytes can be invalid, so only they are collected (ASCII
        // stands in for the rest, which keeps sequence boundaries where they are).
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            var length = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                if (raw[i] == '%' && i + 2 < raw.Length
                    && byte.TryParse(raw.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                {
                    bytes[length++] = b;
                    i += 2;
                }
                else
                {
                    bytes[length++] = (byte)'a';
                }
            }

            return System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(0, length));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    public static bool TryParseDirection(string? value, out Direction direction, out string? error)
    {
        error = null;
        direction = Direction.Backward;
        if (string.IsNullOrEmpty(value) || value.Equals("backward", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (value.Equals("forward", StringComparison.OrdinalIgnoreCase))
        {
            direction = Direction.Forward;
            return true;
        }

        error = $"invalid direction '{value}'";
        return false;
    }

    public static bool TryParseLimit(string? value, int defaultLimit, out int limit, out string? error)
    {
        error = null;
        limit = defaultLimit;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit > 0)
        {
            return true;
        }

        error = "limit must be a positive value";
        return false;
    }
}
