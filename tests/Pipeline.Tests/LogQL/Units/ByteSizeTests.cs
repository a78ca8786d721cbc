using Pipeline.LogQL.Units;

namespace Pipeline.Tests.LogQL.Units;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("1048576", 1048576)]
    [InlineData("256KB", 262144)]
    [InlineData("256kb", 262144)]
    [InlineData("1MiB", 1048576)]
    [InlineData("1.5MB", 1572864)]
    [InlineData("2G", 2147483648)]
    [InlineData("10 KB", 10240)]
    public void TryParse_Binary_PromtailConfig(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, ByteUnits.Binary, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1KB", 1000)]
    [InlineData("1kB", 1000)]
    [InlineData("1KiB", 1024)]
    [InlineData("1Ki", 1024)]
    [InlineData("20MB", 20_000_000)]
    [InlineData("1.5KB", 1500)]
    [InlineData("512B", 512)]
    [InlineData("42", 42)]
    [InlineData("1,024", 1024)]
    [InlineData("2GiB", 2147483648)]
    [InlineData("1TB", 1e12)]
    public void TryParse_Humanized_LogQL(string text, double expected)
    {
        Assert.True(ByteSize.TryParse(text, ByteUnits.Humanized, out double value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("big")]
    [InlineData("10 furlongs")]
    [InlineData("KB")]
    [InlineData("1XB")]
    public void TryParse_Invalid(string text)
    {
        Assert.False(ByteSize.TryParse(text, ByteUnits.Binary, out double _));
        Assert.False(ByteSize.TryParse(text, ByteUnits.Humanized, out double _));
    }
}
