namespace Pipeline.Stages.Internal;

/// <summary>Date arithmetic and RFC 3339 parsing over UTF-8 bytes, to Unix nanoseconds, without allocating.</summary>
internal static class Utf8Time
{
    public const long NanosPerSecond = 1_000_000_000L;
    public const long NanosPerDay = 86_400L * NanosPerSecond;

    // long nanoseconds cover 1677-09-21 .. 2262-04-11; stay safely inside.
    public const int MinYear = 1678;
    public const int MaxYear = 2261;

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).</summary>
    public static long DaysFromCivil(int year, int month, int day)
    {
        year -= month <= 2 ? 1 : 0;
        var era = (year >= 0 ? year : year - 399) / 400;
        var yoe = year - (era * 400);
        var doy = (((153 * (month + (month > 2 ? -3 : 9))) + 2) / 5) + day - 1;
        var doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146097L) + doe - 719468;
    }

    /// <summary>Unix nanoseconds of a UTC date and time, or false when out of range or invalid.</summary>
    public static bool TryToUnixNanos(int year, int month, int day, int hour, int minute, int second, long nanos, long offsetSeconds, out long unixNanos)
    {
        unixNanos = 0;
        if (year < MinYear || year > MaxYear || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 60 || nanos < 0 || nanos >= NanosPerSecond)
        {
            return false;
        }

        var seconds = (DaysFromCivil(year, month, day) * 86_400L) + (hour * 3600L) + (minute * 60L) + second - offsetSeconds;
        unixNanos = (seconds * NanosPerSecond) + nanos;
        return true;
    }

    /// <summary>
    /// Parses RFC 3339 with optional fractional seconds of any precision (Go's <c>time.RFC3339Nano</c>, which also
    /// accepts <c>time.RFC3339</c>): <c>2006-01-02T15:04:05.999999999Z07:00</c>.
    /// </summary>
    public static bool TryParseRfc3339(ReadOnlySpan<byte> s, out long unixNanos)
    {
        unixNanos = 0;
        if (s.Length < 20 || s[4] != '-' || s[7] != '-' || (s[10] | 0x20) != 't' || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        if (!TryDigits(s.Slice(0, 4), out var year) || !TryDigits(s.Slice(5, 2), out var month) || !TryDigits(s.Slice(8, 2), out var day)
            || !TryDigits(s.Slice(11, 2), out var hour) || !TryDigits(s.Slice(14, 2), out var minute) || !TryDigits(s.Slice(17, 2), out var second))
        {
            return false;
        }

        var i = 19;
        long nanos = 0;
        if (s[i] == '.' || s[i] == ',')
        {
            i++;
            var start = i;
            long scale = NanosPerSecond;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (scale > 1)
                {
                    scale /= 10;
                    nanos += (s[i] - '0') * scale;
                }

                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (!TryParseZone(s[i..], out var offset, out var used) || i + used != s.Length)
        {
            return false;
        }

        return TryToUnixNanos(year, month, day, hour, minute, second, nanos, offset, out unixNanos);
    }

    /// <summary>Parses <c>Z</c>, <c>z</c> or <c>±hh:mm</c>.</summary>
    private static bool TryParseZone(ReadOnlySpan<byte> s, out long offsetSeconds, out int used)
    {
        offsetSeconds = 0;
        used = 0;
        if (s.IsEmpty)
        {
            return false;
        }

        if ((s[0] | 0x20) == 'z')
        {
            used = 1;
            return true;
        }

        if ((s[0] != '+' && s[0] != '-') || s.Length < 6 || s[3] != ':'
            || !TryDigits(s.Slice(1, 2), out var hours) || !TryDigits(s.Slice(4, 2), out var minutes) || hours > 23 || minutes > 59)
        {
            return false;
        }

        offsetSeconds = ((hours * 3600L) + (minutes * 60L)) * (s[0] == '-' ? -1 : 1);
        used = 6;
        return true;
    }

    /// <summary>Parses a run of ASCII digits (all of <paramref name="s"/>).</summary>
    public static bool TryDigits(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (var b in s)
        {
            var d = (uint)(b - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }
}
