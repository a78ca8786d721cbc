using System.Globalization;
using System.Text;

namespace Pipeline.LogQL.Units;

/// <summary>
/// Go durations as Promtail configs and LogQL queries write them: number+unit pairs (<c>300ms</c>, <c>1.5h</c>,
/// <c>2h45m</c>) with Go's units plus Prometheus' <c>d</c>, <c>w</c> and <c>y</c>, an optional sign, and <c>0</c>.
/// </summary>
internal static class GoDuration
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

    /// <summary>Parses a duration into nanoseconds.</summary>
    /// <param name="text">The text; surrounding white space is ignored.</param>
    /// <param name="nanoseconds">The value.</param>
    /// <param name="bareSeconds">
    /// Whether a number without a unit means seconds, as the agent's YAML accepts (<c>15</c>, <c>0.5</c>); LogQL and Go
    /// accept only <c>0</c> without a unit.
    /// </param>
    /// <returns>Whether the text is a duration that fits in 64-bit nanoseconds.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out long nanoseconds, bool bareSeconds = false)
    {
        nanoseconds = 0;
        text = text.Trim();
        if (bareSeconds && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return TryRound(seconds * Second, out nanoseconds);
        }

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

        return TryRound(negative ? -total : total, out nanoseconds);
    }

    /// <summary>Parses a duration into a <see cref="TimeSpan"/> (whole ticks; finer parts are dropped).</summary>
    /// <param name="text">The text.</param>
    /// <param name="value">The value.</param>
    /// <param name="bareSeconds">Whether a number without a unit means seconds (see <see cref="TryParse(ReadOnlySpan{char}, out long, bool)"/>).</param>
    /// <returns>Whether the text is a duration.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out TimeSpan value, bool bareSeconds = false)
    {
        var ok = TryParse(text, out long nanoseconds, bareSeconds);
        value = ok ? TimeSpan.FromTicks(nanoseconds / 100) : TimeSpan.Zero;
        return ok;
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

    private static bool TryRound(double nanoseconds, out long value)
    {
        // 2^63 is exactly representable; anything at or beyond it does not fit.
        if (!double.IsFinite(nanoseconds) || Math.Abs(nanoseconds) >= 9.2233720368547758E+18)
        {
            value = 0;
            return false;
        }

        value = (long)Math.Round(nanoseconds);
        return true;
    }

    private static void Append(StringBuilder builder, ref long value, long unit, string suffix)
    {
        if (value >= unit)
        {
            builder.Append(value / unit).Append(suffix);
            value %= unit;
        }
    }
}
