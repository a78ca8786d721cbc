using Microsoft.Extensions.Time.Testing;
using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class TimestampStageTests
{
    private static readonly FakeTimeProvider s_clock = new(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("RFC3339", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z", 0)]
    [InlineData("RFC3339", "2024-01-02T03:04:05.25+01:00", "2024-01-02T02:04:05.25Z", 0)]
    [InlineData("RFC3339Nano", "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456Z", 789)]
    [InlineData("Unix", "1704164645", "2024-01-02T03:04:05Z", 0)]
    [InlineData("Unix", "1704164645.5", "2024-01-02T03:04:05.5Z", 0)]
    [InlineData("Unix", "1704164645.000000001", "2024-01-02T03:04:05Z", 1)]
    [InlineData("UnixMs", "1704164645123", "2024-01-02T03:04:05.123Z", 0)]
    [InlineData("UnixUs", "1704164645123456", "2024-01-02T03:04:05.123456Z", 0)]
    [InlineData("UnixNs", "1704164645123456789", "2024-01-02T03:04:05.123456Z", 789)]
    [InlineData("ANSIC", "Tue Jan  2 03:04:05 2024", "2024-01-02T03:04:05Z", 0)]
    [InlineData("UnixDate", "Tue Jan  2 03:04:05 UTC 2024", "2024-01-02T03:04:05Z", 0)]
    [InlineData("RubyDate", "Tue Jan 02 03:04:05 -0700 2024", "2024-01-02T10:04:05Z", 0)]
    [InlineData("RFC822", "02 Jan 24 03:04 UTC", "2024-01-02T03:04:00Z", 0)]
    [InlineData("RFC822Z", "02 Jan 24 03:04 +0200", "2024-01-02T01:04:00Z", 0)]
    [InlineData("RFC850", "Tuesday, 02-Jan-24 03:04:05 UTC", "2024-01-02T03:04:05Z", 0)]
    [InlineData("RFC1123", "Tue, 02 Jan 2024 03:04:05 GMT", "2024-01-02T03:04:05Z", 0)]
    [InlineData("RFC1123Z", "Tue, 02 Jan 2024 03:04:05 -0000", "2024-01-02T03:04:05Z", 0)]
    [InlineData("Stamp", "Jan  2 03:04:05", "2025-01-02T03:04:05Z", 0)]
    [InlineData("StampMilli", "Jan 02 03:04:05.120", "2025-01-02T03:04:05.12Z", 0)]
    [InlineData("2006-01-02 15:04:05", "2024-01-02 03:04:05", "2024-01-02T03:04:05Z", 0)]
    [InlineData("2006-01-02 15:04:05", "2024-01-02 03:04:05.75", "2024-01-02T03:04:05.75Z", 0)]
    [InlineData("2006-01-02 15:04:05.000", "2024-01-02 03:04:05.007", "2024-01-02T03:04:05.007Z", 0)]
    [InlineData("2006-01-02 15:04:05,999", "2024-01-02 03:04:05,5", "2024-01-02T03:04:05.5Z", 0)]
    [InlineData("02/Jan/2006:15:04:05 -0700", "10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36Z", 0)]
    [InlineData("1/2/2006 3:04:05 PM", "12/31/2023 11:59:59 PM", "2023-12-31T23:59:59Z", 0)]
    [InlineData("1/2/2006 3:04:05 PM", "1/1/2024 12:00:00 AM", "2024-01-01T00:00:00Z", 0)]
    [InlineData("January 2, 2006 15:04 Z07:00", "march 9, 2024 08:30 Z", "2024-03-09T08:30:00Z", 0)]
    [InlineData("2006-01-02T15:04:05-07:00", "2024-01-02T03:04:05+05:30", "2024-01-01T21:34:05Z", 0)]
    [InlineData("2006.002", "2024.060", "2024-02-29T00:00:00Z", 0)]
    public void Process_Format_ParsesToNanoseconds(string format, string value, string expectedUtc, long extraNanos)
    {
        var stage = new TimestampStage(new TimestampStageOptions { Source = "ts", Format = format, TimeProvider = s_clock });
        var entry = StageTest.Entry("x", timestamp: 1);
        entry.Extracted.Set("ts", value);

        stage.Process(entry);

        Assert.Equal(StageTest.Ns(expectedUtc) + extraNanos, entry.Timestamp);
    }

    [Theory]
    [InlineData("RFC3339", "2024-01-02 03:04:05Z")]
    [InlineData("RFC3339", "")]
    [InlineData("Unix", "12a")]
    [InlineData("Unix", "1.1234567891")]
    [InlineData("UnixMs", "99999999999999999999")]
    [InlineData("2006-01-02", "2024-13-01")]
    [InlineData("2006-01-02", "2024-02-30")]
    [InlineData("2006-01-02", "2024-01-02 extra")]
    [InlineData("15:04", "25:00")]
    [InlineData("Jan 2006", "Foo 2024")]
    public void Process_Unparsable_SkipKeepsTimestamp(string format, string value)
    {
        var stage = new TimestampStage(new TimestampStageOptions { Source = "ts", Format = format, ActionOnFailure = "skip", TimeProvider = s_clock });
        var entry = StageTest.Entry("x", timestamp: 77);
        entry.Extracted.Set("ts", value);

        stage.Process(entry);

        Assert.Equal(77, entry.Timestamp);
    }

    [Fact]
    public void Process_FallbackFormats_TriedInOrder()
    {
        var stage = new TimestampStage(new TimestampStageOptions { Source = "ts", Format = "RFC3339", FallbackFormats = { "UnixMs", "2006-01-02" } });
        var a = StageTest.Entry("x");
        a.Extracted.Set("ts", "1704164645123");
        var b = StageTest.Entry("x");
        b.Extracted.Set("ts", "2024-01-02");

        stage.Process(a);
        stage.Process(b);

        Assert.Equal(StageTest.Ns("2024-01-02T03:04:05.123Z"), a.Timestamp);
        Assert.Equal(StageTest.Ns("2024-01-02T00:00:00Z"), b.Timestamp);
    }

    [Fact]
    public void Process_Location_AppliesToZonelessValues()
    {
        var stage = new TimestampStage(new TimestampStageOptions { Source = "ts", Format = "2006-01-02 15:04:05", Location = "Europe/Paris" });
        var winter = StageTest.Entry("x");
        winter.Extracted.Set("ts", "2024-01-02 10:00:00");
        var summer = StageTest.Entry("x");
        summer.Extracted.Set("ts", "2024-07-02 10:00:00");

        stage.Process(winter);
        stage.Process(summer);

        Assert.Equal(StageTest.Ns("2024-01-02T09:00:00Z"), winter.Timestamp);
        Assert.Equal(StageTest.Ns("2024-07-02T08:00:00Z"), summer.Timestamp);
    }

    [Fact]
    public void Process_Fudge_UsesLastKnownPlusOneNanosecondPerStream()
    {
        var stage = new TimestampStage(new TimestampStageOptions { Source = "ts", Format = "RFC3339" });
        var a = StageTest.Labels("{f=\"a\"}");
        var good = StageTest.Entry("x", a);
        good.Extracted.Set("ts", "2024-01-02T03:04:05Z");
        var bad1 = StageTest.Entry("x", a, timestamp: 5);
        bad1.Extracted.Set("ts", "garbage");
        var bad2 = StageTest.Entry("x", a, timestamp: 5);
        var otherStream = StageTest.Entry("x", StageTest.Labels("{f=\"b\"}"), timestamp: 9);

        stage.Process(good);
        stage.Process(bad1);
        stage.Process(bad2);
        stage.Process(otherStream);

        Assert.Equal(StageTest.Ns("2024-01-02T03:04:05Z") + 1, bad1.Timestamp);
        Assert.Equal(StageTest.Ns("2024-01-02T03:04:05Z") + 2, bad2.Timestamp);
        Assert.Equal(9, otherStream.Timestamp);
    }

    [Theory]
    [InlineData(null, "RFC3339", null, null, "timestamp.source")]
    [InlineData("ts", null, null, null, "timestamp.format")]
    [InlineData("ts", "no elements", null, null, "timestamp.format")]
    [InlineData("ts", "RFC3339", "Mars/Olympus", null, "timestamp.location")]
    [InlineData("ts", "RFC3339", null, "retry", "timestamp.action_on_failure")]
    public void Constructor_Invalid_ThrowsNamingField(string? source, string? format, string? location, string? action, string field)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new TimestampStage(new TimestampStageOptions { Source = source, Format = format, Location = location, ActionOnFailure = action }));

        Assert.Contains(field, ex.Message);
    }
}
