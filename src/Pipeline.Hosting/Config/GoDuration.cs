using System.Globalization;

namespace Pipeline.Hosting.Config;

/// <summary>Parses Go's duration syntax as Promtail configs write it: <c>300ms</c>, <c>1.5h</c>, <c>2h45m</c>, <c>1d</c> (Prometheus' day), bare seconds.</summary>
internal static class GoDuration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var span = text.AsSpan().Trim();
        if (span.IsEmpty)
        {
            return false;
        }

        if (double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var bareSeconds))
        {
            value = TimeSpan.FromSeconds(bareSeconds);
            return double.IsFinite(bareSeconds);
        }

        var negative = span[0] == '-';
        if (negative || span[0] == '+')
        {
            span = span[1..];
        }

        double totalMs = 0;
        while (!span.IsEmpty)
        {
            var numberEnd = 0;
            while (numberEnd < span.Length && (char.IsAsciiDigit(span[numberEnd]) || span[numberEnd] == '.'))
            {
                numberEnd++;
            }

            if (numberEnd == 0 || !double.TryParse(span[..numberEnd], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            span = span[numberEnd..];
            var unitEnd = 0;
            while (unitEnd < span.Length && !char.IsAsciiDigit(span[unitEnd]) && span[unitEnd] != '.')
            {
                unitEnd++;
            }

            double unitMs = span[..unitEnd] switch
            {
                "ns" => 1e-6,
                "us" or "µs" => 1e-3,
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                _ => double.NaN,
            };
            if (double.IsNaN(unitMs))
            {
                return false;
            }

            totalMs += number * unitMs;
            span = span[unitEnd..];
        }

        value = TimeSpan.FromMilliseconds(negative ? -totalMs : totalMs);
        return true;
    }
}

/// <summary>Parses byte sizes: plain bytes, or with a unit K/KB/KiB, M/MB/MiB, G/GB/GiB (all powers of 1024).</summary>
internal static class ByteSize
{
    public static bool TryParse(string text, out long value)
    {
        value = 0;
        var span = text.AsSpan().Trim();
        var end = 0;
        while (end < span.Length && (char.IsAsciiDigit(span[end]) || span[end] == '.'))
        {
            end++;
        }

        if (end == 0 || !double.TryParse(span[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        // Promtail's byte sizes (dskit flagext.ByteSize, go-humanize) read KB and KiB alike as 1024.
        var unit = span[end..].Trim().ToString().ToUpperInvariant();
        double factor = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1024,
            "M" or "MB" or "MIB" => 1024 * 1024,
            "G" or "GB" or "GIB" => 1024 * 1024 * 1024,
            _ => double.NaN,
        };
        if (double.IsNaN(factor))
        {
            return false;
        }

        value = (long)(number * factor);
        return true;
    }
}
