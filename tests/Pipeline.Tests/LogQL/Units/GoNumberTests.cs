using Pipeline.LogQL.Units;

namespace Pipeline.Tests.LogQL.Units;

public sealed class GoNumberTests
{
    // Go: strconv.FormatFloat(v, 'f', -1, 64), as Prometheus' count_values labels its values.
    [Theory]
    [InlineData(0d, "0")]
    [InlineData(-0d, "-0")]
    [InlineData(1d, "1")]
    [InlineData(0.5, "0.5")]
    [InlineData(1e6, "1000000")]
    [InlineData(1.5e15, "1500000000000000")]
    [InlineData(1e21, "1000000000000000000000")]
    [InlineData(-1.2345e20, "-123450000000000000000")]
    [InlineData(1.5e-7, "0.00000015")]
    [InlineData(-2e-10, "-0.0000000002")]
    [InlineData(123.456, "123.456")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void FormatDecimal_AsGoFormatFloatF(double value, string expected)
    {
        Assert.Equal(expected, GoNumber.FormatDecimal(value));
        if (double.IsFinite(value))
        {
            Assert.Equal(value, double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
