using System.Globalization;

namespace Pipeline.LogQL.Units;

/// <summary>Numbers as Go's <c>strconv.FormatFloat(v, 'g', -1, 64)</c> prints them, for canonical query text and values.</summary>
internal static class GoNumber
{
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
