using Pipeline.LogQL.Units;

namespace Pipeline.Tests.LogQL.Units;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("2h45m10s", 9_910_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("15", 15_000)]
    [InlineData("0", 0)]
    public void TryParse_AgentConfig_BareNumberIsSeconds(string text, double milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out TimeSpan value, bareSeconds: true));
        Assert.Equal(milliseconds, value.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("10 parsecs")]
    [InlineData("h")]
    [InlineData("1x")]
    public void TryParse_AgentConfig_Invalid(string text)
    {
        Assert.False(GoDuration.TryParse(text, out TimeSpan _, bareSeconds: true));
    }

    [Theory]
    [InlineData("1h30m", 5_400_000_000_000L)]
    [InlineData("90s", 90_000_000_000L)]
    [InlineData("1.5ms", 1_500_000L)]
    [InlineData("250us", 250_000L)]
    [InlineData("250µs", 250_000L)]
    [InlineData("250μs", 250_000L)]
    [InlineData("7ns", 7L)]
    [InlineData("-5m", -300_000_000_000L)]
    [InlineData("2w", 1_209_600_000_000_000L)]
    [InlineData("1y", 31_536_000_000_000_000L)]
    [InlineData("0", 0L)]
    public void TryParse_LogQL_Nanoseconds(string text, long expected)
    {
        Assert.True(GoDuration.TryParse(text, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("15")]
    [InlineData("1.5")]
    [InlineData("300y")]
    [InlineData("5 m")]
    public void TryParse_LogQL_NoBareNumbersOrOverflow(string text)
    {
        Assert.False(GoDuration.TryParse(text, out long _));
    }

    [Theory]
    [InlineData(5_400_000_000_000L, "1h30m")]
    [InlineData(90_000_000_000L, "1m30s")]
    [InlineData(86_400_000_000_000L, "1d")]
    [InlineData(1_500_000L, "1500us")]
    [InlineData(0L, "0s")]
    [InlineData(-60_000_000_000L, "-1m")]
    public void Format_PrometheusStyle(long nanoseconds, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(nanoseconds));
    }
}
