using System.Text;

namespace Pipeline.Stages.Internal;

/// <summary>
/// A Go time layout (reference time <c>Mon Jan 2 15:04:05 -0700 MST 2006</c>) compiled once and parsed over UTF-8
/// bytes to Unix nanoseconds, following Go's <c>time.Parse</c> rules: padded and unpadded numbers, month and weekday
/// names (case-insensitive), <c>PM</c>, fractional seconds (<c>.000</c> fixed, <c>.999</c> optional, or present in the
/// value after seconds even when the layout has none), numeric zones (<c>-0700</c>, <c>-07:00</c>, <c>Z07:00</c>...),
/// and a run of spaces in the layout matching a run of spaces in the value.
/// </summary>
/// <remarks>
/// Zone abbreviations (<c>MST</c>) are accepted; like Go for abbreviations it does not know, they count as UTC unless
/// a location is given, whose offset then applies. A layout without a year parses into the current year (Promtail).
/// </remarks>
internal sealed class GoTimeLayout
{
    private static readonly string[] s_shortMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] s_longMonths = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] s_shortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] s_longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private readonly Token[] _tokens;

    private GoTimeLayout(Token[] tokens, bool hasYear, bool hasZone)
    {
        _tokens = tokens;
        HasYear = hasYear;
        HasZone = hasZone;
    }

    private enum Kind
    {
        Literal, LongMonth, Month, NumMonth, ZeroMonth, LongWeekDay, WeekDay, Day, UnderDay, ZeroDay, UnderYearDay, ZeroYearDay,
        Hour, Hour12, ZeroHour12, Minute, ZeroMinute, Second, ZeroSecond, LongYear, Year, PM, Pm, ZoneAbbrev,
        NumZone, NumColonZone, NumShortZone, NumSecondsZone, NumColonSecondsZone,
        IsoZone, IsoColonZone, IsoShortZone, IsoSecondsZone, IsoColonSecondsZone, Frac0, Frac9,
    }

    /// <summary>Whether the layout has a year.</summary>
    public bool HasYear { get; }

    /// <summary>Whether the layout has a zone (numeric or abbreviation).</summary>
    public bool HasZone { get; }

    /// <summary>Compiles a layout.</summary>
    /// <exception cref="FormatException">The layout has no date or time element at all.</exception>
    public static GoTimeLayout Compile(string layout)
    {
        var tokens = new List<Token>();
        var literal = new StringBuilder();
        bool hasYear = false, hasZone = false, hasElement = false;
        var i = 0;
        while (i < layout.Length)
        {
            var (kind, length, digits) = Next(layout, i);
            if (kind == Kind.Literal)
            {
                literal.Append(layout[i]);
                i++;
                continue;
            }

            if (literal.Length > 0)
            {
                tokens.Add(new Token(Kind.Literal, Encoding.UTF8.GetBytes(literal.ToString()), 0));
                literal.Clear();
            }

            tokens.Add(new Token(kind, [], digits));
            hasElement = true;
            hasYear |= kind is Kind.LongYear or Kind.Year;
            hasZone |= kind >= Kind.ZoneAbbrev && kind <= Kind.IsoColonSecondsZone;
            i += length;
        }

        if (literal.Length > 0)
        {
            tokens.Add(new Token(Kind.Literal, Encoding.UTF8.GetBytes(literal.ToString()), 0));
        }

        if (!hasElement)
        {
            throw new FormatException("the layout has no date or time element of Go's reference time 'Mon Jan 2 15:04:05 -0700 MST 2006'");
        }

        return new GoTimeLayout([.. tokens], hasYear, hasZone);
    }

    /// <summary>Go's nextStdChunk: the element starting at <paramref name="i"/>, or Literal.</summary>
    private static (Kind Kind, int Length, int Digits) Next(string s, int i)
    {
        bool At(string token) => string.CompareOrdinal(s, i, token, 0, token.Length) == 0;
        var c = s[i];
        switch (c)
        {
            case 'J':
                if (At("January"))
                {
                    return (Kind.LongMonth, 7, 0);
                }

                if (At("Jan"))
                {
                    return (Kind.Month, 3, 0);
                }

                break;
            case 'M':
                if (At("Monday"))
                {
                    return (Kind.LongWeekDay, 6, 0);
                }

                if (At("Mon"))
                {
                    return (Kind.WeekDay, 3, 0);
                }

                if (At("MST"))
                {
                    return (Kind.ZoneAbbrev, 3, 0);
                }

                break;
            case '0':
                if (At("002"))
                {
                    return (Kind.ZeroYearDay, 3, 0);
                }

                if (i + 1 < s.Length && s[i + 1] >= '1' && s[i + 1] <= '6')
                {
                    return (s[i + 1] switch
                    {
                        '1' => Kind.ZeroMonth,
                        '2' => Kind.ZeroDay,
                        '3' => Kind.ZeroHour12,
                        '4' => Kind.ZeroMinute,
                        '5' => Kind.ZeroSecond,
                        _ => Kind.Year,
                    }, 2, 0);
                }

                break;
            case '1':
                return At("15") ? (Kind.Hour, 2, 0) : (Kind.NumMonth, 1, 0);
            case '2':
                return At("2006") ? (Kind.LongYear, 4, 0) : (Kind.Day, 1, 0);
            case '_':
                if (At("__2"))
                {
                    return (Kind.UnderYearDay, 3, 0);
                }

                if (At("_2") && !At("_2006"))
                {
                    return (Kind.UnderDay, 2, 0);
                }

                break;
            case '3':
                return (Kind.Hour12, 1, 0);
            case '4':
                return (Kind.Minute, 1, 0);
            case '5':
                return (Kind.Second, 1, 0);
            case 'P':
                if (At("PM"))
                {
                    return (Kind.PM, 2, 0);
                }

                break;
            case 'p':
                if (At("pm"))
                {
                    return (Kind.Pm, 2, 0);
                }

                break;
            case '-':
                if (At("-070000"))
                {
                    return (Kind.NumSecondsZone, 7, 0);
                }

                if (At("-07:00:00"))
                {
                    return (Kind.NumColonSecondsZone, 9, 0);
                }

                if (At("-0700"))
                {
                    return (Kind.NumZone, 5, 0);
                }

                if (At("-07:00"))
                {
                    return (Kind.NumColonZone, 6, 0);
                }

                if (At("-07"))
                {
                    return (Kind.NumShortZone, 3, 0);
                }

                break;
            case 'Z':
                if (At("Z070000"))
                {
                    return (Kind.IsoSecondsZone, 7, 0);
                }

                if (At("Z07:00:00"))
                {
                    return (Kind.IsoColonSecondsZone, 9, 0);
                }

                if (At("Z0700"))
                {
                    return (Kind.IsoZone, 5, 0);
                }

                if (At("Z07:00"))
                {
                    return (Kind.IsoColonZone, 6, 0);
                }

                if (At("Z07"))
                {
                    return (Kind.IsoShortZone, 3, 0);
                }

                break;
            case '.':
            case ',':
                if (i + 1 < s.Length && (s[i + 1] == '0' || s[i + 1] == '9'))
                {
                    var ch = s[i + 1];
                    var j = i + 1;
                    while (j < s.Length && s[j] == ch)
                    {
                        j++;
                    }

                    if (j >= s.Length || !char.IsAsciiDigit(s[j]))
                    {
                        return (ch == '0' ? Kind.Frac0 : Kind.Frac9, j - i, j - i - 1);
                    }
                }

                break;
        }

        return (Kind.Literal, 1, 0);
    }

    /// <summary>Parses <paramref name="value"/>.</summary>
    /// <param name="value">The UTF-8 text.</param>
    /// <param name="currentYear">The year to use when the layout has none.</param>
    /// <param name="location">The zone for values without one (null: UTC).</param>
    /// <param name="unixNanos">The result.</param>
    public bool TryParse(ReadOnlySpan<byte> value, int currentYear, TimeZoneInfo? location, out long unixNanos)
    {
        unixNanos = 0;
        int year = HasYear ? 0 : currentYear, month = 1, day = 1, hour = 0, minute = 0, second = 0, yday = -1;
        long nanos = 0;
        long? offset = null;
        bool pm = false, am = false;
        for (var t = 0; t < _tokens.Length; t++)
        {
            var token = _tokens[t];
            int n;
            switch (token.Kind)
            {
                case Kind.Literal:
                    if (!Skip(ref value, token.Literal))
                    {
                        return false;
                    }

                    continue;
                case Kind.LongYear:
                    if (value.Length < 4 || !Utf8Time.TryDigits(value[..4], out year))
                    {
                        return false;
                    }

                    value = value[4..];
                    continue;
                case Kind.Year:
                    if (value.Length < 2 || !Utf8Time.TryDigits(value[..2], out year))
                    {
                        return false;
                    }

                    year += year >= 69 ? 1900 : 2000;
                    value = value[2..];
                    continue;
                case Kind.Month:
                case Kind.LongMonth:
                    if (!Lookup(ref value, token.Kind == Kind.Month ? s_shortMonths : s_longMonths, out n))
                    {
                        return false;
                    }

                    month = n + 1;
                    continue;
                case Kind.WeekDay:
                case Kind.LongWeekDay:
                    if (!Lookup(ref value, token.Kind == Kind.WeekDay ? s_shortDays : s_longDays, out _))
                    {
                        return false;
                    }

                    continue;
                case Kind.NumMonth:
                case Kind.ZeroMonth:
                    if (!GetNumber(ref value, token.Kind == Kind.ZeroMonth, out month) || month < 1 || month > 12)
                    {
                        return false;
                    }

                    continue;
                case Kind.Day:
                case Kind.UnderDay:
                case Kind.ZeroDay:
                    if (token.Kind == Kind.UnderDay && !value.IsEmpty && value[0] == ' ')
                    {
                        value = value[1..];
                    }

                    if (!GetNumber(ref value, token.Kind == Kind.ZeroDay, out day))
                    {
                        return false;
                    }

                    continue;
                case Kind.UnderYearDay:
                case Kind.ZeroYearDay:
                    while (token.Kind == Kind.UnderYearDay && !value.IsEmpty && value[0] == ' ')
                    {
                        value = value[1..];
                    }

                    if (!GetDigits(ref value, 3, token.Kind == Kind.ZeroYearDay, out yday) || yday < 1 || yday > 366)
                    {
                        return false;
                    }

                    continue;
                case Kind.Hour:
                case Kind.Hour12:
                case Kind.ZeroHour12:
                    if (!GetNumber(ref value, token.Kind == Kind.ZeroHour12, out hour) || hour > (token.Kind == Kind.Hour ? 23 : 12))
                    {
                        return false;
                    }

                    continue;
                case Kind.Minute:
                case Kind.ZeroMinute:
                    if (!GetNumber(ref value, token.Kind == Kind.ZeroMinute, out minute) || minute > 59)
                    {
                        return false;
                    }

                    continue;
                case Kind.Second:
                case Kind.ZeroSecond:
                    if (!GetNumber(ref value, token.Kind == Kind.ZeroSecond, out second) || second > 59)
                    {
                        return false;
                    }

                    // Go: a fraction in the value right after seconds is taken even if the layout has none.
                    if (value.Length >= 2 && (value[0] == '.' || value[0] == ',') && char.IsAsciiDigit((char)value[1])
                        && !(t + 1 < _tokens.Length && _tokens[t + 1].Kind is Kind.Frac0 or Kind.Frac9))
                    {
                        var d = 1;
                        while (d < value.Length && char.IsAsciiDigit((char)value[d]))
                        {
                            d++;
                        }

                        nanos = Fraction(value[1..d]);
                        value = value[d..];
                    }

                    continue;
                case Kind.Frac0:
                    if (value.Length < token.Digits + 1 || (value[0] != '.' && value[0] != ',') || !AllDigits(value.Slice(1, token.Digits)))
                    {
                        return false;
                    }

                    nanos = Fraction(value.Slice(1, token.Digits));
                    value = value[(token.Digits + 1)..];
                    continue;
                case Kind.Frac9:
                    if (value.Length >= 2 && (value[0] == '.' || value[0] == ',') && char.IsAsciiDigit((char)value[1]))
                    {
                        var d = 1;
                        while (d < value.Length && char.IsAsciiDigit((char)value[d]))
                        {
                            d++;
                        }

                        nanos = Fraction(value[1..d]);
                        value = value[d..];
                    }

                    continue;
                case Kind.PM:
                case Kind.Pm:
                    if (value.Length < 2)
                    {
                        return false;
                    }

                    var p = value[..2];
                    var upper = token.Kind == Kind.PM;
                    if (p.SequenceEqual(upper ? "PM"u8 : "pm"u8))
                    {
                        pm = true;
                    }
                    else if (p.SequenceEqual(upper ? "AM"u8 : "am"u8))
                    {
                        am = true;
                    }
                    else
                    {
                        return false;
                    }

                    value = value[2..];
                    continue;
                case Kind.ZoneAbbrev:
                    if (!ZoneAbbreviation(ref value, out var abbreviationOffset))
                    {
                        return false;
                    }

                    offset = abbreviationOffset;
                    continue;
                default:
                    if (!NumericZone(ref value, token.Kind, out var zoneOffset))
                    {
                        return false;
                    }

                    offset = zoneOffset;
                    continue;
            }
        }

        if (!value.IsEmpty)
        {
            return false;
        }

        if (pm && hour < 12)
        {
            hour += 12;
        }
        else if (am && hour == 12)
        {
            hour = 0;
        }

        if (yday > 0)
        {
            if (year < Utf8Time.MinYear || year > Utf8Time.MaxYear || yday > (DateTime.IsLeapYear(year) ? 366 : 365))
            {
                return false;
            }

            var date = new DateTime(year, 1, 1).AddDays(yday - 1);
            month = date.Month;
            day = date.Day;
        }

        if (offset is null && location is not null && year >= Utf8Time.MinYear && year <= Utf8Time.MaxYear
            && month >= 1 && month <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month))
        {
            var local = new DateTime(year, month, day, hour, minute, Math.Min(second, 59), DateTimeKind.Unspecified);
            offset = (long)location.GetUtcOffset(local).TotalSeconds;
        }

        return Utf8Time.TryToUnixNanos(year, month, day, hour, minute, second, nanos, offset ?? 0, out unixNanos);
    }

    private static bool Skip(ref ReadOnlySpan<byte> value, ReadOnlySpan<byte> prefix)
    {
        while (!prefix.IsEmpty)
        {
            if (prefix[0] == ' ')
            {
                if (!value.IsEmpty && value[0] != ' ')
                {
                    return false;
                }

                prefix = prefix.TrimStart((byte)' ');
                value = value.TrimStart((byte)' ');
                continue;
            }

            if (value.IsEmpty || value[0] != prefix[0])
            {
                return false;
            }

            prefix = prefix[1..];
            value = value[1..];
        }

        return true;
    }

    private static bool Lookup(ref ReadOnlySpan<byte> value, string[] names, out int index)
    {
        for (index = 0; index < names.Length; index++)
        {
            var name = names[index];
            if (value.Length >= name.Length)
            {
                var match = true;
                for (var k = 0; k < name.Length; k++)
                {
                    if ((value[k] | 0x20) != (name[k] | 0x20))
                    {
                        match = false;
                        break;
                    }
                }

                if (match)
                {
                    value = value[name.Length..];
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Go's getnum: one or two digits, or exactly two when fixed.</summary>
    private static bool GetNumber(ref ReadOnlySpan<byte> value, bool fixedWidth, out int number) => GetDigits(ref value, 2, fixedWidth, out number);

    private static bool GetDigits(ref ReadOnlySpan<byte> value, int max, bool fixedWidth, out int number)
    {
        number = 0;
        var d = 0;
        while (d < max && d < value.Length && char.IsAsciiDigit((char)value[d]))
        {
            number = (number * 10) + (value[d] - '0');
            d++;
        }

        if (d == 0 || (fixedWidth && d != max))
        {
            return false;
        }

        value = value[d..];
        return true;
    }

    private static bool AllDigits(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }
        }

        return true;
    }

    private static long Fraction(ReadOnlySpan<byte> digits)
    {
        long nanos = 0;
        long scale = Utf8Time.NanosPerSecond;
        foreach (var b in digits)
        {
            if (scale == 1)
            {
                break;
            }

            scale /= 10;
            nanos += (b - '0') * scale;
        }

        return nanos;
    }

    private static bool ZoneAbbreviation(ref ReadOnlySpan<byte> value, out long offset)
    {
        offset = 0;
        var n = 0;
        while (n < value.Length && n < 5 && value[n] >= 'A' && value[n] <= 'Z')
        {
            n++;
        }

        if (n < 3)
        {
            return false;
        }

        var name = value[..n];
        value = value[n..];

        // GMT+3 / UTC-7 style.
        if ((name.SequenceEqual("GMT"u8) || name.SequenceEqual("UTC"u8)) && value.Length >= 2 && (value[0] == '+' || value[0] == '-'))
        {
            var sign = value[0] == '-' ? -1 : 1;
            var v = value[1..];
            if (!GetDigits(ref v, 2, false, out var hours) || hours > 23)
            {
                return false;
            }

            value = v;
            offset = sign * hours * 3600L;
        }

        return true;
    }

    private static bool NumericZone(ref ReadOnlySpan<byte> value, Kind kind, out long offset)
    {
        offset = 0;
        var iso = kind >= Kind.IsoZone;
        if (iso && !value.IsEmpty && value[0] == 'Z')
        {
            value = value[1..];
            return true;
        }

        if (value.IsEmpty || (value[0] != '+' && value[0] != '-'))
        {
            return false;
        }

        var sign = value[0] == '-' ? -1 : 1;
        var v = value[1..];
        var colon = kind is Kind.NumColonZone or Kind.NumColonSecondsZone or Kind.IsoColonZone or Kind.IsoColonSecondsZone;
        var withMinutes = kind is not (Kind.NumShortZone or Kind.IsoShortZone);
        var withSeconds = kind is Kind.NumSecondsZone or Kind.NumColonSecondsZone or Kind.IsoSecondsZone or Kind.IsoColonSecondsZone;
        if (!Two(ref v, out var hours))
        {
            return false;
        }

        int minutes = 0, seconds = 0;
        if (withMinutes)
        {
            if ((colon && !Colon(ref v)) || !Two(ref v, out minutes))
            {
                return false;
            }
        }

        if (withSeconds)
        {
            if ((colon && !Colon(ref v)) || !Two(ref v, out seconds))
            {
                return false;
            }
        }

        if (hours > 24 || minutes > 59 || seconds > 59)
        {
            return false;
        }

        value = v;
        offset = sign * ((hours * 3600L) + (minutes * 60L) + seconds);
        return true;

        static bool Two(ref ReadOnlySpan<byte> s, out int n) => GetDigits(ref s, 2, true, out n);

        static bool Colon(ref ReadOnlySpan<byte> s)
        {
            if (s.IsEmpty || s[0] != ':')
            {
                return false;
            }

            s = s[1..];
            return true;
        }
    }

    private readonly record struct Token(Kind Kind, byte[] Literal, int Digits);
}
