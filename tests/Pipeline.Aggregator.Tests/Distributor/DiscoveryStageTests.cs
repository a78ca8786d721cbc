using Pipeline.Aggregator.Distributor;
using Pipeline.Model;

namespace Pipeline.Aggregator.Tests.Distributor;

public sealed class DiscoveryStageTests
{
    private static (DiscoveryStage Stage, DiscardCounters Discards) Create(DistributorLimits? limits = null)
    {
        var discards = new DiscardCounters(null);
        return (new DiscoveryStage(new DistributorLimitsByTenant(limits ?? new DistributorLimits(), new Dictionary<string, DistributorLimits>()), TimeProvider.System, discards), discards);
    }

    private static LogEntry Run(string labels, string line, DistributorLimits? limits = null, params (string Name, string Value)[] metadata)
    {
        var (stage, discards) = Create(limits);
        using (discards)
        {
            var entry = new LogEntry { Labels = LabelSet.Parse(labels) };
            entry.SetLine(line.AsSpan());
            foreach (var (name, value) in metadata)
            {
                entry.Metadata.Set(name, value.AsSpan());
            }

            Assert.Equal(default, stage.Process(entry));
            return entry;
        }
    }

    private static string? Level(LogEntry entry) => entry.Metadata.TryGetString(DiscoveryStage.LevelName, out var level) ? level : null;

    [Theory]
    [InlineData("{service_name=\"given\", app=\"a\"}", "given")]
    [InlineData("{app=\"a\", job=\"j\"}", "a")]
    [InlineData("{job=\"ns/j\", container=\"c\"}", "c")]
    [InlineData("{k8s_job_name=\"kj\", workload=\"w\"}", "w")]
    [InlineData("{service=\"s\", app=\"a\"}", "s")]
    [InlineData("{env=\"prod\"}", "unknown_service")]
    public void ServiceName_FirstDiscoveredLabel_OrUnknown(string labels, string expected)
    {
        var entry = Run(labels, "x");
        Assert.Equal(expected, entry.Labels["service_name"]);
    }

    [Fact]
    public void ServiceName_InternalStreams_AndDiscoveryOff_LeftAlone()
    {
        Assert.Null(Run("{__pattern__=\"p\", app=\"a\"}", "x").Labels["service_name"]);
        Assert.Null(Run("{app=\"a\"}", "x", new DistributorLimits { DiscoverServiceName = [] }).Labels["service_name"]);
        Assert.Equal("b", Run("{app=\"a\", mine=\"b\"}", "x", new DistributorLimits { DiscoverServiceName = ["mine"] }).Labels["service_name"]);
    }

    [Fact]
    public void ServiceName_ComputedOncePerStream()
    {
        var (stage, discards) = Create();
        using (discards)
        {
            var labels = LabelSet.Parse("{app=\"a\"}");
            var first = new LogEntry { Labels = labels };
            var second = new LogEntry { Labels = labels };
            stage.Process(first);
            stage.Process(second);
            Assert.Same(first.Labels, second.Labels);
            Assert.Equal("{app=\"a\", service_name=\"a\"}", first.Labels.ToString());
        }
    }

    public static TheoryData<string, string> Lines => new()
    {
        // JSON: a level field up to two objects deep, its value normalised; else the first level word.
        { "{\"level\":\"WARNING\",\"msg\":\"disk\"}", "warn" },
        { "{\"msg\":\"x\",\"severity\":\"err\"}", "error" },
        { "{\"log\":{\"lvl\":\"dbg\"},\"msg\":\"y\"}", "debug" },
        { "{\"a\":{\"b\":{\"level\":\"wrn\"}},\"msg\":\"here\"}", "unknown" },
        { "{\"level\":\"chatty\",\"msg\":\"fatal stop\"}", "fatal" },
        { "{\"level\":3,\"msg\":\"nothing\"}", "unknown" },
        { "{\"items\":[{\"level\":\"wrn\"}]}", "unknown" },
        { "{\"msg\":\"failed\",\"level\":\"err\",\"e\":\"error\"}", "error" },
        { " {\"Level\":\"Information\"} ", "info" },
        { "{not json, error}", "error" },

        // logfmt: keys in any case, the first field of Loki's list wins.
        { "ts=1 LeVeL=inf msg=\"started\"", "info" },
        { "severity=error level=debug", "debug" },
        { "msg=\"hello\" lvl=\"warn\"", "warn" },
        { "msg=x level=verbose note=critical", "critical" },

        // Plain text: the first level word between boundaries.
        { "2024-01-01 ERROR something failed with warning", "error" },
        { "[debug] starting", "debug" },
        { "debug: starting", "debug" },
        { "misc:error is not a level, but trace is", "trace" },
        { "errors happen; information wanted", "unknown" },
        { "WARN disk", "warn" },
        { "warning", "warn" },
        { "crITical|", "critical" },
        { "", "unknown" },
        { "no level here", "unknown" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void Level_FromLine(string line, string expected) => Assert.Equal(expected, Level(Run("{app=\"a\"}", line)));

    [Fact]
    public void Level_FromStreamLabel_ThenMetadata_ThenSeverityNumber()
    {
        Assert.Equal("error", Level(Run("{app=\"a\", level=\"ERR\"}", "info line")));
        Assert.Equal("custom", Level(Run("{app=\"a\", level=\"custom\"}", "info line")));
        Assert.Equal("warn", Level(Run("{app=\"a\"}", "info line", null, ("severity", "Warning"))));
        Assert.Equal("odd", Level(Run("{app=\"a\"}", "info line", null, ("lvl", "odd"))));
        Assert.Equal("error", Level(Run("{app=\"a\"}", "info line", null, ("severity_number", "17"))));
        Assert.Equal("unknown", Level(Run("{app=\"a\"}", "info line", null, ("severity_number", "0"))));
        Assert.Equal("info", Level(Run("{app=\"a\"}", "error line", null, ("severity_number", "x"))));
    }

    [Fact]
    public void Level_AlreadyThere_IsNormalised_NotReplaced()
    {
        Assert.Equal("warn", Level(Run("{app=\"a\"}", "error line", null, ("detected_level", "WRN"))));
        Assert.Equal("mine", Level(Run("{app=\"a\"}", "error line", null, ("detected_level", "mine"))));
    }

    [Fact]
    public void Level_DiscoveryOff_AddsNothing()
    {
        var entry = Run("{app=\"a\"}", "error line", new DistributorLimits { DiscoverLogLevels = false });
        Assert.Equal(0, entry.Metadata.Count);
        Assert.Equal("a", entry.Labels["service_name"]);
    }

    [Fact]
    public void Level_WordSearch_ReadsABoundedPrefix()
    {
        var line = new string('x', DiscoveryStage.MaxLevelScanBytes) + " error";
        Assert.Equal("unknown", Level(Run("{app=\"a\"}", line)));
        Assert.Equal("error", Level(Run("{app=\"a\"}", new string('x', DiscoveryStage.MaxLevelScanBytes - 7) + " error")));
    }

    [Theory]
    [InlineData("{\"level\":\"info\",\"msg\":\"x\"}", "info")]
    [InlineData("{ \"ts\" : 1.5e3, \"ok\":true, \"n\":null, \"neg\":-0.25, \"severity\" : \"WARN\" }", "WARN")]
    [InlineData("{\"msg\":\"a, b: c\",\"lvl\":\"debug\"}", "debug")]
    [InlineData("{\"nested\":{\"level\":\"error\"},\"level\":\"info\"}", null)]
    [InlineData("{\"msg\":\"quote \\\" inside\",\"level\":\"info\"}", null)]
    [InlineData("{\"n\":01,\"level\":\"info\"}", null)]
    [InlineData("{\"n\":1.,\"level\":\"info\"}", null)]
    [InlineData("{\"n\":tru,\"level\":\"info\"}", null)]
    [InlineData("{\"level\":\"info\"", "info")] // the reader too answers before it reads further
    [InlineData("{\"msg\":\"x\"}", null)]
    [InlineData("{\"level\":3,\"msg\":\"x\"}", null)]
    public void FlatJsonLevel_AnswersOnlyWhatTheReaderAnswers(string line, string? flat)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line);
        var answered = DiscoveryStage.FlatJsonLevel(bytes, out var level);
        Assert.Equal(flat is not null, answered);
        if (answered)
        {
            Assert.Equal(flat, System.Text.Encoding.UTF8.GetString(level));
            Assert.Equal(flat, System.Text.Encoding.UTF8.GetString(DiscoveryStage.JsonLevelByReader(bytes)));
        }
    }

    [Fact]
    public void FlatJsonLevel_InvalidUtf8BeforeTheLevel_LeftToTheReader()
    {
        byte[] line = [.. "{\"msg\":\""u8, 0xFF, .. "\",\"level\":\"info\"}"u8];
        Assert.False(DiscoveryStage.FlatJsonLevel(line, out _));
    }
}
