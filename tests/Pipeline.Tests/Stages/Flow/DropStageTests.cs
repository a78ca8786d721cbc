using Microsoft.Extensions.Time.Testing;
using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class DropStageTests
{
    public static TheoryData<DropStageOptions, string, bool> Cases => new()
    {
        { new DropStageOptions { Source = "level" }, "line", true },
        { new DropStageOptions { Source = "absent" }, "line", false },
        { new DropStageOptions { Source = "level", Value = "debug" }, "line", true },
        { new DropStageOptions { Source = "level", Value = "info" }, "line", false },
        { new DropStageOptions { Source = "level", Expression = "^de" }, "line", true },
        { new DropStageOptions { Source = "level", Expression = "^x" }, "line", false },
        { new DropStageOptions { Expression = "health(z|check)" }, "GET /healthz 200", true },
        { new DropStageOptions { Expression = "health(z|check)" }, "GET /api 200", false },
        { new DropStageOptions { Expression = ".*" }, "", true },
        { new DropStageOptions { LongerThan = 4 }, "12345", true },
        { new DropStageOptions { LongerThan = 5 }, "12345", false },
        { new DropStageOptions { LongerThan = 0 }, "", false },
        { new DropStageOptions { LongerThan = 2, Expression = "^a" }, "abc", true },
        { new DropStageOptions { LongerThan = 2, Expression = "^b" }, "abc", false },
        { new DropStageOptions { OlderThan = TimeSpan.FromHours(1) }, "old", true },
        { new DropStageOptions { OlderThan = TimeSpan.FromDays(2) }, "old", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Process_Conditions_AllMustHold(DropStageOptions options, string line, bool dropped)
    {
        options.TimeProvider = new FakeTimeProvider(new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero));
        var stage = new DropStage(options);
        var entry = StageTest.Entry(line, timestamp: StageTest.Ns("2024-01-01T12:00:00Z"));
        entry.Extracted.Set("level", "debug");

        var result = stage.Process(entry);

        Assert.Equal(dropped, result.IsDrop);
        if (dropped)
        {
            Assert.Equal("drop_stage", result.DropReason);
        }
    }

    [Fact]
    public void Process_CustomReason_Used()
    {
        var stage = new DropStage(new DropStageOptions { LongerThan = 0, DropCounterReason = "too_long" });

        Assert.Equal(StageResult.Drop("too_long"), stage.Process(StageTest.Entry("x")));
    }

    [Fact]
    public void Process_InvalidUtf8AndLongLine_DoNotThrow()
    {
        var stage = new DropStage(new DropStageOptions { Expression = "z$" });

        Assert.False(stage.Process(StageTest.Entry([0xff, 0xfe])).IsDrop);
        Assert.True(stage.Process(StageTest.Entry(new string('a', 1 << 20) + "z")).IsDrop);
    }

    [Theory]
    [InlineData(null, null, null, "at least one of")]
    [InlineData("s", "v", "e", "value or expression")]
    [InlineData(null, "v", "e", "value or expression")]
    [InlineData("s", null, "(", "drop.expression")]
    public void Constructor_Invalid_Throws(string? source, string? value, string? expression, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new DropStage(new DropStageOptions { Source = source, Value = value, Expression = expression }));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Constructor_ValueWithoutSource_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new DropStage(new DropStageOptions { Value = "v", LongerThan = 1 }));
        Assert.Contains("drop.source", ex.Message);
    }
}

public class SamplingStageTests
{
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 10_000)]
    public void Process_Extremes_KeepNoneOrAll(double rate, int expectedKept)
    {
        var stage = new SamplingStage(new SamplingStageOptions { Rate = rate, Seed = 1 });
        var entry = StageTest.Entry("x");

        var kept = Enumerable.Range(0, 10_000).Count(_ => !stage.Process(entry).IsDrop);

        Assert.Equal(expectedKept, kept);
    }

    [Fact]
    public void Process_Rate_KeepsAboutThatFraction()
    {
        var stage = new SamplingStage(new SamplingStageOptions { Rate = 0.25, Seed = 42 });
        var entry = StageTest.Entry("x");

        var results = Enumerable.Range(0, 20_000).Select(_ => stage.Process(entry)).ToList();

        var kept = results.Count(r => !r.IsDrop);
        Assert.InRange(kept, 4_500, 5_500);
        Assert.All(results.Where(r => r.IsDrop), r => Assert.Equal("sampling_stage", r.DropReason));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Constructor_RateOutOfRange_Throws(double rate)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new SamplingStage(new SamplingStageOptions { Rate = rate }));
        Assert.Contains("sampling.rate", ex.Message);
    }
}
