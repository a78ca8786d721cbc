using Pipeline.Hosting.Config;

namespace Pipeline.Hosting.Tests.Config;

public sealed class ValueParsingTests
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
    public void GoDuration_Valid(string text, double milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("10 parsecs")]
    [InlineData("h")]
    [InlineData("1x")]
    public void GoDuration_Invalid(string text)
    {
        Assert.False(GoDuration.TryParse(text, out _));
    }

    [Theory]
    [InlineData("1048576", 1048576)]
    [InlineData("256KB", 262144)]
    [InlineData("256kb", 262144)]
    [InlineData("1MiB", 1048576)]
    [InlineData("1.5MB", 1572864)]
    [InlineData("2G", 2147483648)]
    public void ByteSize_Valid(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("big")]
    [InlineData("10 furlongs")]
    public void ByteSize_Invalid(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _));
    }
}
