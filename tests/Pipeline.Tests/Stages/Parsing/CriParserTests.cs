using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class CriParserTests
{
    [Theory]
    [InlineData("2024-01-02T03:04:05.123456789Z stdout F hello world", "hello world", "stdout", 1704164645123456789L, "F")]
    [InlineData("2024-01-02T03:04:05Z stderr F boom", "boom", "stderr", 1704164645000000000L, "F")]
    [InlineData("2024-01-02T03:04:05.5+02:00 stdout F x", "x", "stdout", 1704157445500000000L, "F")]
    [InlineData("2024-01-02T03:04:05.000000001-00:30 stdout F  lead", " lead", "stdout", 1704166445000000001L, "F")]
    [InlineData("2024-01-02T03:04:05Z stdout F ", "", "stdout", 1704164645000000000L, "F")]
    [InlineData("2024-01-02T03:04:05Z stdout F", "", "stdout", 1704164645000000000L, "F")]
    [InlineData("2024-01-02T03:04:05Z stdout F:x tagged", "tagged", "stdout", 1704164645000000000L, "F:x")]
    [InlineData("notatime stdout F text", "text", "stdout", 42L, "F")]
    [InlineData("2024-02-30T03:04:05Z stdout F bad day", "bad day", "stdout", 42L, "F")]
    public void Process_CriLine_ParsesFields(string line, string content, string stream, long timestamp, string flags)
    {
        var stage = new CriParser(new CriParserOptions { ExtractAllFields = true });
        var entry = StageTest.Entry(line, StageTest.Labels("{job=\"a\"}"), timestamp: 42);

        var result = stage.Process(entry);

        Assert.Equal(StageResult.Keep, result);
        Assert.Equal(content, entry.GetLineString());
        Assert.Equal(timestamp, entry.Timestamp);
        Assert.Equal(stream, entry.Labels["stream"]);
        Assert.Equal("a", entry.Labels["job"]);
        Assert.Equal(stream, entry.Extracted.Get("stream"));
        Assert.Equal(flags, entry.Extracted.Get("flags"));
        Assert.Equal(content, entry.Extracted.Get("content"));
        Assert.Equal(line.Split(' ')[0], entry.Extracted.Get("time"));
    }

    [Fact]
    public void Process_Default_ExtractsOnlyStream()
    {
        var entry = StageTest.Entry("2024-01-02T03:04:05Z stderr F x");

        new CriParser().Process(entry);

        Assert.Equal(1, entry.Extracted.Count);
        Assert.Equal("stderr", entry.Extracted.Get("stream"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain text line")]
    [InlineData("2024-01-02T03:04:05Z stdfoo F x")]
    [InlineData("2024-01-02T03:04:05Z")]
    [InlineData(" stdout F x")]
    [InlineData("2024-01-02T03:04:05Z\tstdout F x")]
    public void Process_NotCri_LeavesEntryUnchanged(string line)
    {
        var stage = new CriParser();
        var entry = StageTest.Entry(line, timestamp: 7);

        Assert.Equal(StageResult.Keep, stage.Process(entry));
        Assert.Equal(line, entry.GetLineString());
        Assert.Equal(7, entry.Timestamp);
        Assert.Same(LabelSet.Empty, entry.Labels);
        Assert.Equal(0, entry.Extracted.Count);
    }

    [Fact]
    public void Process_InvalidUtf8Content_KeepsBytes()
    {
        var prefix = Encoding.UTF8.GetBytes("2024-01-02T03:04:05Z stdout F ");
        byte[] bad = [0xff, 0xfe, (byte)'a', 0xc3];
        var entry = StageTest.Entry([.. prefix, .. bad]);

        new CriParser().Process(entry);

        Assert.Equal(bad, entry.Line.ToArray());
    }

    [Fact]
    public void Process_VeryLongLine_KeepsWholeContent()
    {
        var content = new string('x', 1024 * 1024);
        var entry = StageTest.Entry("2024-01-02T03:04:05Z stdout F " + content);

        new CriParser(new CriParserOptions { MaxPartialLineSize = 0 }).Process(entry);

        Assert.Equal(content.Length, entry.LineLength);
    }

    [Fact]
    public void Process_SameInputLabels_ReusesLabelSet()
    {
        var stage = new CriParser();
        var labels = StageTest.Labels("{filename=\"/var/log/a.log\"}");
        var first = StageTest.Entry("2024-01-02T03:04:05Z stdout F one", labels);
        var second = StageTest.Entry("2024-01-02T03:04:06Z stdout F two", labels);
        var third = StageTest.Entry("2024-01-02T03:04:06Z stderr F three", labels);
        var fourth = StageTest.Entry("2024-01-02T03:04:06Z stdout F four", labels);

        stage.Process(first);
        stage.Process(second);
        stage.Process(third);
        stage.Process(fourth);

        Assert.Same(first.Labels, second.Labels);
        Assert.Same(first.Labels, fourth.Labels);
        Assert.Equal("stderr", third.Labels["stream"]);
    }

    [Fact]
    public void Process_PartialPieces_JoinedIntoFinalWithMergedAck()
    {
        var stage = new CriParser();
        var tracker = new AckTracker();
        var p1 = StageTest.Entry("2024-01-02T03:04:05Z stdout P hel");
        p1.Ack = tracker.Track(10);
        var p2 = StageTest.Entry("2024-01-02T03:04:05Z stdout P lo ");
        p2.Ack = tracker.Track(20);
        var f = StageTest.Entry("2024-01-02T03:04:06Z stdout F world");
        f.Ack = tracker.Track(30);

        var r1 = stage.Process(p1);
        var r2 = stage.Process(p2);
        var r3 = stage.Process(f);

        Assert.True(r1.IsAbsorbed);
        Assert.True(r2.IsAbsorbed);
        Assert.True(p1.Ack.IsNone);
        Assert.True(p2.Ack.IsNone);
        Assert.Equal(StageResult.Keep, r3);
        Assert.Equal("hello world", f.GetLineString());
        Assert.Equal(StageTest.Ns("2024-01-02T03:04:06Z"), f.Timestamp);

        // What the runtime does with dropped entries must not commit the held pieces.
        p1.Ack.Complete();
        p2.Ack.Complete();
        Assert.Equal(0, tracker.CommittedPosition);

        f.Ack.Acknowledge();
        Assert.Equal(30, tracker.CommittedPosition);
        Assert.Equal(0, stage.PendingPartialStreams);
    }

    [Fact]
    public void Process_InterleavedStreams_JoinsEachStreamSeparately()
    {
        var stage = new CriParser();
        var tracker = new AckTracker();
        string[] lines =
        [
            "2024-01-02T03:04:05Z stdout P out-a ",
            "2024-01-02T03:04:05Z stderr P err-a ",
            "2024-01-02T03:04:05Z stdout F out-b",
            "2024-01-02T03:04:05Z stderr F err-b",
        ];
        var entries = lines.Select((l, i) =>
        {
            var e = StageTest.Entry(l);
            e.Ack = tracker.Track((i + 1) * 10);
            return e;
        }).ToArray();

        var kept = entries.Where(e => !stage.Process(e).IsAbsorbed).ToArray();

        Assert.Equal(["out-a out-b", "err-a err-b"], kept.Select(e => e.GetLineString()));
        kept[0].Ack.Acknowledge();
        Assert.Equal(10, tracker.CommittedPosition); // err-a (position 20) is still in flight
        kept[1].Ack.Acknowledge();
        Assert.Equal(40, tracker.CommittedPosition);
    }

    [Fact]
    public void Process_PartialsOfDifferentFiles_AreNotMixed()
    {
        var stage = new CriParser();
        var a = StageTest.Labels("{filename=\"a\"}");
        var b = StageTest.Labels("{filename=\"b\"}");
        Assert.True(stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P a1-", a)).IsAbsorbed);
        Assert.True(stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P b1-", b)).IsAbsorbed);
        var fb = StageTest.Entry("2024-01-02T03:04:05Z stdout F b2", b);
        var fa = StageTest.Entry("2024-01-02T03:04:05Z stdout F a2", a);

        stage.Process(fb);
        stage.Process(fa);

        Assert.Equal("b1-b2", fb.GetLineString());
        Assert.Equal("a1-a2", fa.GetLineString());
    }

    [Fact]
    public void Process_JoinReachesMaxSize_FlushesJoinedSoFar()
    {
        var stage = new CriParser(new CriParserOptions { MaxPartialLineSize = 8 });
        Assert.True(stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P 12345")).IsAbsorbed);
        var second = StageTest.Entry("2024-01-02T03:04:05Z stdout P 6789");
        var f = StageTest.Entry("2024-01-02T03:04:05Z stdout F end");

        Assert.Equal(StageResult.Keep, stage.Process(second));
        Assert.Equal(StageResult.Keep, stage.Process(f));

        Assert.Equal("123456789", second.GetLineString());
        Assert.Equal("end", f.GetLineString());
    }

    [Fact]
    public void Process_TruncateAtMaxSize_CutsJoinedLine()
    {
        var stage = new CriParser(new CriParserOptions { MaxPartialLineSize = 8, MaxPartialLineSizeTruncate = true });
        stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P 12345"));
        stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P 6789"));
        var f = StageTest.Entry("2024-01-02T03:04:05Z stdout F end");
        var single = StageTest.Entry("2024-01-02T03:04:05Z stdout F 0123456789");

        stage.Process(f);
        stage.Process(single);

        Assert.Equal("12345678", f.GetLineString());
        Assert.Equal("01234567", single.GetLineString());
    }

    [Fact]
    public void Process_TooManyPendingStreams_PassesPieceThroughUnjoined()
    {
        var stage = new CriParser(new CriParserOptions { MaxPartialLines = 1 });
        Assert.True(stage.Process(StageTest.Entry("2024-01-02T03:04:05Z stdout P a", StageTest.Labels("{f=\"1\"}"))).IsAbsorbed);
        var other = StageTest.Entry("2024-01-02T03:04:05Z stdout P b", StageTest.Labels("{f=\"2\"}"));

        Assert.Equal(StageResult.Keep, stage.Process(other));
        Assert.Equal("b", other.GetLineString());
    }

    [Theory]
    [InlineData(-1, 0L, false, "max_partial_lines")]
    [InlineData(0, -5L, false, "max_partial_line_size")]
    [InlineData(0, 0L, true, "max_partial_line_size")]
    public void Constructor_InvalidOptions_ThrowsNamingField(int lines, long size, bool truncate, string field)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new CriParser(new CriParserOptions { MaxPartialLines = lines, MaxPartialLineSize = size, MaxPartialLineSizeTruncate = truncate }));

        Assert.Equal(field, ex.Field);
        Assert.Contains("cri." + field, ex.Message);
    }

    [Fact]
    public void Process_WarmedUp_AllocatesNothing()
    {
        var stage = new CriParser();
        var labels = StageTest.Labels("{filename=\"/var/log/pods/x/0.log\"}");
        var entry = StageTest.Entry("2024-01-02T03:04:05.123456789Z stdout F GET /api/v1/items 200 12ms", labels);
        var raw = entry.Line.ToArray();

        // Past tiered compilation's promotion (30 calls, then a background recompile) so no runtime work lands in the count.
        for (var i = 0; i < 2000; i++)
        {
            entry.SetLine(raw);
            entry.Labels = labels;
            stage.Process(entry);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            entry.SetLine(raw);
            entry.Labels = labels;
            stage.Process(entry);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

public class CriTimeCacheTests
{
    [Theory]
    [InlineData("2024-01-02T03:04:05.1Z|2024-01-02T03:04:05.2Z|2024-01-02T03:04:05+01:00|2024-01-02T03:04:05.000000009-02:30|2024-01-02T03:04:06Z|2024-01-02T03:04:05Z")]
    [InlineData("2024-01-02T03:04:05Z|2024-01-02T03:04:05Zjunk|2024-01-02T03:04:05.Z|2024-01-02T03:04:05Z")]
    public void Process_RepeatedSecondPrefix_SameAsUncachedParse(string joined)
    {
        var stage = new CriParser();
        foreach (var time in joined.Split('|'))
        {
            var entry = StageTest.Entry(time + " stdout F x", timestamp: -1);
            stage.Process(entry);

            var valid = DateTimeOffset.TryParse(time, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var expected) && !time.EndsWith("junk") && !time.Contains(".Z");
            var expectedNs = valid ? ((expected.UtcTicks - DateTime.UnixEpoch.Ticks) * 100) + (time.Contains("000000009") ? 9 : 0) : -1;
            Assert.Equal(expectedNs, entry.Timestamp);
        }
    }
}
