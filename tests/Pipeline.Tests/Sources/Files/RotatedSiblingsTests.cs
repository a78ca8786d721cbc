using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class RotatedSiblingsTests
{
    [Theory]
    [InlineData("0.log", "0.log.20261126-101010", "20261126-101010", false)]
    [InlineData("0.log", "0.log.20261126-101010.gz", "20261126-101010", true)]
    [InlineData("app.log", "app.log.1", "1", false)]
    [InlineData("app.log", "app.log.2.gz", "2", true)]
    [InlineData("app.log", "app.log-20261126", "20261126", false)]
    public void IsGeneration_KubeletAndLogrotateNames(string target, string name, string suffix, bool compressed)
    {
        Assert.True(RotatedSiblings.IsGeneration(target, name, out var found, out var isCompressed));
        Assert.Equal(suffix, found);
        Assert.Equal(compressed, isCompressed);
    }

    [Theory]
    [InlineData("0.log", "0.log")]
    [InlineData("0.log", "0.log.")]
    [InlineData("0.log", "10.log.20261126-101010")]
    [InlineData("0.log", "1.log")]
    [InlineData("0.log", "0.log.20261126-101010.gz.tmp")]
    [InlineData("app.log", "app.log.3.bz2")]
    [InlineData("app.log", "app.log.3.zst")]
    [InlineData("app.log", "app.logger")]
    public void IsGeneration_OtherFiles_AreNot(string target, string name)
    {
        Assert.False(RotatedSiblings.IsGeneration(target, name, out _, out _));
    }

    [Fact]
    public void CompareAge_TimestampsAscendNumbersDescend()
    {
        string[] timestamps = ["20261126-101011", "20261126-101010", "20261125-235959"];
        string[] counts = ["1", "10", "2"];

        Assert.Equal(["20261125-235959", "20261126-101010", "20261126-101011"], timestamps.Order(Comparer<string>.Create(RotatedSiblings.CompareAge)));
        Assert.Equal(["10", "2", "1"], counts.Order(Comparer<string>.Create(RotatedSiblings.CompareAge)));
    }
}
