using System.Globalization;

namespace Pipeline.LogQL.Units;

/// <summary>
/// Byte sizes: a number (digits, an optional decimal point, <c>,</c> as a thousands separator), optional white space
/// and an optional case-insensitive unit <c>B</c>, <c>K</c>/<c>KB</c>/<c>Ki</c>/<c>KiB</c>, and the same for M, G, T, P
/// and E. What the units mean is chosen by <see cref="ByteUnits"/>.
/// </summary>
internal static class ByteSize
{
    /// <summary>Parses a byte size.</summary>
    /// <param name="text">The text; surrounding white space is ignored.</param>
    /// <param name="units">What the unit letters mean.</param>
    /// <param name="bytes">The value (fractional sizes such as <c>1.5KB</c> are kept as given).</param>
    /// <returns>Whether the text is a byte size.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, ByteUnits units, out double bytes)
    {
        bytes = 0;
        text = text.Trim();
        var i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || (text[i] == ',' && i > 0)))
        {
            i++;
        }

        if (i == 0 || !TryParseNumber(text[..i], out var number))
        {
            return false;
        }

        var unit = text[i..].TrimStart();
        if (unit.Length > 3)
        {
            return false;
        }

        Span<char> lower = stackalloc char[3];
        var length = unit.ToLowerInvariant(lower);
        var power = Power(lower[..length], out var iec);
        if (power < 0)
        {
            return false;
        }

        var factor = Math.Pow(iec || units == ByteUnits.Binary ? 1024 : 1000, power);
        bytes = number * factor;
        return double.IsFinite(bytes);
    }

    /// <summary>Parses a byte size into whole bytes (fractions are dropped).</summary>
    /// <param name="text">The text.</param>
    /// <param name="units">What the unit letters mean.</param>
    /// <param name="bytes">The value.</param>
    /// <returns>Whether the text is a byte size that fits in 64 bits.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, ByteUnits units, out long bytes)
    {
        if (TryParse(text, units, out double value) && value < 9.2233720368547758E+18)
        {
            bytes = (long)value;
            return true;
        }

        bytes = 0;
        return false;
    }

    private static bool TryParseNumber(ReadOnlySpan<char> digits, out double number)
    {
        if (digits.IndexOf(',') < 0)
        {
            return double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number);
        }

        return double.TryParse(digits, NumberStyles.AllowDecimalPoint | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>The power of the unit (0 for bytes), or -1 when it is not one; <paramref name="iec"/> for the "i" forms.</summary>
    private static int Power(ReadOnlySpan<char> unit, out bool iec)
    {
        iec = false;
        if (unit.IsEmpty || unit is "b")
        {
            return 0;
        }

        var power = "kmgtpe".IndexOf(unit[0]);
        if (power < 0)
        {
            return -1;
        }

        var rest = unit[1..];
        if (rest is "i" or "ib")
        {
            iec = true;
            return power + 1;
        }

        return rest is "" or "b" ? power + 1 : -1;
    }
}
