using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class DockerParserTests
{
    [Theory]
    [InlineData("{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.123456789Z\"}", "hello", "stdout", 1704164645123456789L)]
    [InlineData("{\"time\":\"2024-01-02T03:04:05Z\",\"stream\":\"stderr\",\"log\":\"a \\\"quoted\\\" \\u00e9\\n\"}", "a \"quoted\" é", "stderr", 1704164645000000000L)]
    [InlineData("{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}", "", "stdout", 1704164645000000000L)]
    [InlineData("{\"log\":\"no time\\n\",\"stream\":\"stdout\"}", "no time", "stdout", 5L)]
    [InlineData("{\"log\":\"bad time\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}", "bad time", "stdout", 5L)]
    [InlineData("{\"log\":\"extra\\n\",\"attrs\":{\"a\":[1,2]},\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}", "extra", "stdout", 1704164645000000000L)]
    [InlineData("{\"log\":\"no stream\\n\"}", "no stream", null, 5L)]
    public void Process_DockerLine_ParsesFields(string line, string log, string? stream, long timestamp)
    {
        var entry = StageTest.Entry(line);
        entry.Timestamp = 5;

        Assert.Equal(StageResult.Keep, new DockerParser().Process(entry));

        Assert.Equal(log, entry.GetLineString());
        Assert.Equal(stream, entry.Labels["stream"]);
        Assert.Equal(timestamp, entry.Timestamp);
        Assert.Equal(log + "\n", entry.Extracted.Get("output"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("{\"log\":")]
    [InlineData("{\"log\":1}")]
    [InlineData("{\"stream\":\"stdout\"}")]
    [InlineData("[1,2]")]
    [InlineData("{\"log\":\"x\\n\" garbage")]
    public void Process_NotDocker_LeavesEntryUnchanged(string line)
    {
        var entry = StageTest.Entry(line);

        Assert.Equal(StageResult.Keep, new DockerParser().Process(entry));

        Assert.Equal(line, entry.GetLineString());
        Assert.Same(LabelSet.Empty, entry.Labels);
    }

    [Fact]
    public void Process_InvalidUtf8InLog_DoesNotThrow()
    {
        byte[] line = [.. "{\"log\":\""u8.ToArray(), 0xff, 0xfe, .. "\\n\"}"u8.ToArray()];
        var entry = StageTest.Entry(line);

        Assert.Equal(StageResult.Keep, new DockerParser().Process(entry));
    }

    [Fact]
    public void Process_SplitPieces_JoinedWithMergedAck()
    {
        var stage = new DockerParser();
        var tracker = new AckTracker();
        var piece = new string('a', 16 * 1024);
        var p1 = StageTest.Entry($"{{\"log\":\"{piece}\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}}");
        p1.Ack = tracker.Track(100);
        var f = StageTest.Entry("{\"log\":\"tail\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:06Z\"}");
        f.Ack = tracker.Track(200);

        Assert.True(stage.Process(p1).IsAbsorbed);
        p1.Ack.Complete();
        Assert.Equal(StageResult.Keep, stage.Process(f));

        Assert.Equal(piece + "tail", f.GetLineString());
        Assert.Equal(0, tracker.CommittedPosition);
        f.Ack.Acknowledge();
        Assert.Equal(200, tracker.CommittedPosition);
    }

    [Fact]
    public void Process_SameStream_ReusesLabelSet()
    {
        var stage = new DockerParser();
        var labels = StageTest.Labels("{job=\"d\"}");
        var a = StageTest.Entry("{\"log\":\"1\\n\",\"stream\":\"stdout\"}", labels);
        var b = StageTest.Entry("{\"log\":\"2\\n\",\"stream\":\"stdout\"}", labels);

        stage.Process(a);
        stage.Process(b);

        Assert.Same(a.Labels, b.Labels);
        Assert.Equal("{job=\"d\", stream=\"stdout\"}", a.Labels.ToString());
    }

    [Fact]
    public void Constructor_NegativeMaxPartialLines_Throws()
    {
        var ex = Assert.Throws<Pipeline.Stages.StageOptionsException>(() => new DockerParser(new DockerParserOptions { MaxPartialLines = -1 }));
        Assert.Contains("docker.max_partial_lines", ex.Message);
    }
}
