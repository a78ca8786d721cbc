using System.Globalization;
using System.Text;

namespace Pipeline.Aggregator.LogQL;

/// <summary>Go/Prometheus durations (<c>1h30m</c>, <c>500ms</c>, <c>2d</c>) and humanized byte sizes (<c>20MB</c>, <c>1KiB</c>).</summary>
internal static class Durations
{
    public const long Nanosecond = 1;
    public const long Microsecond = 1_000;
    public const long Millisecond = 1_000_000;
    public const long Second = 1_000_000_000;
    public const long Minute = 60 * Second;
    public const long Hour = 60 * Minute;
    public const long Day = 24 * Hour;
    public const long Week = 7 * Day;
    public const long Year = 365 * Day;

    /// <summary>Parses a sequence of number+unit pairs (Go's time.ParseDuration plus d, w, y), into nanoseconds.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out long nanoseconds)
    {
        nanoseconds = 0;
        var negative = false;
        if (!text.IsEmpty && (text[0] == '-' || text[0] == '+'))
        {
            negative = text[0] == '-';
            text = text[1..];
        }

        if (text.IsEmpty)
        {
            return false;
        }

        if (text is "0")
        {
            return true;
        }

        double total = 0;
        while (!text.IsEmpty)
        {
            var i = 0;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (i == 0 || !double.TryParse(text[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            text = text[i..];
            var j = 0;
            while (j < text.Length && !char.IsAsciiDigit(text[j]) && text[j] != '.')
            {
                j++;
            }

            long unit;
            switch (text[..j])
            {
                case "ns": unit = Nanosecond; break;
                case "us" or "µs" or "μs": unit = Microsecond; break;
                case "ms": unit = Millisecond; break;
                case "s": unit = Second; break;
                case "m": unit = Minute; break;
                case "h": unit = Hour; break;
                case "d": unit = Day; break;
                case "w": unit = Week; break;
                case "y": unit = Year; break;
                default: return false;
            }

            total += number * unit;
            text = text[j..];
        }

        if (total > long.MaxValue)
        {
            return false;
        }

        nanoseconds = negative ? -(long)total : (long)total;
        return true;
    }

    /// <summary>Formats nanoseconds the way Prometheus prints durations (<c>1h30m</c>, <c>500ms</c>, <c>1d</c>).</summary>
    public static string Format(long nanoseconds)
    {
        if (nanoseconds == 0)
        {
            return "0s";
        }

        var builder = new StringBuilder();
        if (nanoseconds < 0)
        {
            builder.Append('-');
            nanoseconds = -nanoseconds;
        }

        if (nanoseconds % Millisecond != 0)
        {
            // Below a millisecond Prometheus cannot print it; fall back to Go's units.
            if (nanoseconds % Microsecond == 0)
            {
                return builder.Append(nanoseconds / Microsecond).Append("us").ToString();
            }

            return builder.Append(nanoseconds).Append("ns").ToString();
        }

        Append(builder, ref nanoseconds, Year, "y");
        Append(builder, ref nanoseconds, Week, "w");
        Append(builder, ref nanoseconds, Day, "d");
        Append(builder, ref nanoseconds, Hour, "h");
        Append(builder, ref nanoseconds, Minute, "m");
        Append(builder, ref nanoseconds, Second, "s");
        Append(builder, ref nanoseconds, Millisecond, "ms");
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, ref long value, long unit, string suffix)
    {
        if (value >= unit)
        {
            builder.Append(value / unit).Append(suffix);
            value %= unit;
        }
    }

    /// <summary>Parses a humanized byte size (go-humanize ParseBytes: <c>20MB</c>, <c>1.5 KiB</c>, <c>42</c>), case-insensitive.</summary>
    public static bool TryParseBytes(ReadOnlySpan<char> text, out double bytes)
    {
        bytes = 0;
        text = text.Trim();
        var i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || text[i] == ','))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(text[..i].ToString().Replace(",", string.Empty, StringComparison.Ordinal), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var unitText = text[i..].Trim().ToString().ToLowerInvariant();
        double unit = unitText switch
        {
            "" or "b" => 1,
            "k" or "kb" => 1e3,
            "ki" or "kib" => 1024,
            "m" or "mb" => 1e6,
            "mi" or "mib" => 1024d * 1024,
            "g" or "gb" => 1e9,
            "gi" or "gib" => 1024d * 1024 * 1024,
            "t" or "tb" => 1e12,
            "ti" or "tib" => 1024d * 1024 * 1024 * 1024,
            "p" or "pb" => 1e15,
            "pi" or "pib" => 1024d * 1024 * 1024 * 1024 * 1024,
            "e" or "eb" => 1e18,
            "ei" or "eib" => 1024d * 1024 * 1024 * 1024 * 1024 * 1024,
            _ => double.NaN,
        };
        if (double.IsNaN(unit))
        {
            return false;
        }

        bytes = number * unit;
        return true;
    }

    /// <summary>Formats a number as Go's strconv.FormatFloat(v, 'g', -1, 64) roughly does, for canonical query text and values.</summary>
    public static string FormatNumber(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        if (double.IsNaN(value))
        {
            return "NaN";
        }

        return value.ToString("R", CultureInfo.InvariantCulture);
    }
}
