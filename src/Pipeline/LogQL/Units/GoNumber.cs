using System.Globalization;

namespace Pipeline.LogQL.Units;

/// <summary>Numbers as Go's <c>strconv.FormatFloat(v, 'g', -1, 64)</c> prints them, for canonical query text and values.</summary>
internal static class GoNumber
{
    /// <summary>
    /// As Go's <c>strconv.FormatFloat(v, 'f', -1, 64)</c>: the shortest digits that read back as the same number, never
    /// with an exponent (1e6 is <c>1000000</c>, 1.5e-7 is <c>0.00000015</c>); what Prometheus' <c>count_values</c> puts in
    /// its label.
    /// </summary>
    public static string FormatDecimal(double value)
    {
        var shortest = Format(value);
        var e = shortest.IndexOf('E', StringComparison.Ordinal);
        if (e < 0 || !double.IsFinite(value))
        {
            return shortest;
        }

        var exponent = int.Parse(shortest.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = shortest.AsSpan(0, e);
        var negative = mantissa[0] == '-';
        if (negative)
        {
            mantissa = mantissa[1..];
        }

        // Digits d1.d2d3... times 10^exponent: the point goes after the first digit plus exponent places.
        var dot = mantissa.IndexOf('.');
        var digits = dot < 0 ? mantissa.ToString() : string.Concat(mantissa[..dot], mantissa[(dot + 1)..]);
        var point = 1 + exponent;
        var builder = new System.Text.StringBuilder(digits.Length + Math.Abs(exponent) + 3);
        if (negative)
        {
            builder.Append('-');
        }

        if (point <= 0)
        {
            builder.Append("0.").Append('0', -point).Append(digits);
        }
        else if (point >= digits.Length)
        {
            builder.Append(digits).Append('0', point - digits.Length);
        }
        else
        {
            builder.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        }

        return builder.ToString();
    }

    public static string Format(double value)
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
