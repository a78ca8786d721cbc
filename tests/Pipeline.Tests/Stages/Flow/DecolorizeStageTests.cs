using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class DecolorizeStageTests
{
    [Theory]
    [InlineData("\u001b[31mred\u001b[0m text", "red text")]
    [InlineData("\u001b[1;32mbold green\u001b[m", "bold green")]
    [InlineData("no colors", "no colors")]
    [InlineData("", "")]
    [InlineData("\u001b[2K\u001b[0Gprogress", "progress")]
    [InlineData("dangling \u001b[", "dangling \u001b[")]
    [InlineData("lone \u001b escape", "lone \u001b escape")]
    public void Process_RemovesAnsiSequences(string line, string expected)
    {
        var entry = StageTest.Entry(line);

        new DecolorizeStage().Process(entry);

        Assert.Equal(expected, entry.GetLineString());
    }

    [Fact]
    public void Process_InvalidUtf8_KeptAroundSequences()
    {
        var entry = StageTest.Entry([0xff, 0x1b, (byte)'[', (byte)'1', (byte)'m', 0xfe]);

        new DecolorizeStage().Process(entry);

        Assert.Equal(new byte[] { 0xff, 0xfe }, entry.Line.ToArray());
    }
}
