using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Tests.Runtime;

public sealed class EntryRejectionTests
{
    private static readonly EntryRejection s_tooLong = new(RejectionKind.Invalid, "line_too_long", "line too long");
    private static readonly EntryRejection s_limited = new(RejectionKind.Limited, "rate_limited", "slow down");

    [Fact]
    public void Acknowledge_WithRejection_SettlesAndRecordsWhy()
    {
        var tracker = new AckTracker(startPosition: 0);
        var first = tracker.Track(1);
        var second = tracker.Track(2);

        first.Acknowledge(s_tooLong);
        second.Acknowledge();

        Assert.Equal(2, tracker.CommittedPosition);
        Assert.Equal(1, tracker.RejectedCount);
        Assert.Same(s_tooLong, Assert.Single(tracker.Rejections));
    }

    [Fact]
    public void Rejections_SameCauseInARow_ListedOnceButCountedPerEntry()
    {
        var tracker = new AckTracker(startPosition: 0);
        var tokens = new[] { tracker.Track(1), tracker.Track(2), tracker.Track(3), tracker.Track(4) };

        tokens[0].Acknowledge(s_tooLong);
        tokens[1].Acknowledge(s_tooLong);
        tokens[2].Acknowledge(s_limited);
        tokens[3].Acknowledge(s_tooLong);

        Assert.Equal(4, tracker.RejectedCount);
        Assert.Equal([s_tooLong, s_limited, s_tooLong], tracker.Rejections);
    }

    [Fact]
    public void Rejection_BySeveralSinks_CountsTheEntryOnce()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2, startPosition: 0);
        var token = tracker.Track(1);

        token.Acknowledge(s_tooLong);
        Assert.Equal(0, tracker.CommittedPosition);
        token.Acknowledge(s_limited);

        Assert.Equal(1, tracker.CommittedPosition);
        Assert.Equal(1, tracker.RejectedCount);
        Assert.Same(s_tooLong, Assert.Single(tracker.Rejections));
    }

    [Fact]
    public void AcknowledgeAll_WithRejection_RecordsEveryEntryOfTheRun()
    {
        var tracker = new AckTracker(startPosition: 0);
        AckToken[] tokens = [tracker.Track(1), tracker.Track(2), tracker.Track(3)];

        AckToken.AcknowledgeAll(tokens, s_limited);

        Assert.Equal(3, tracker.CommittedPosition);
        Assert.Equal(3, tracker.RejectedCount);
        Assert.Same(s_limited, Assert.Single(tracker.Rejections));
    }

    [Fact]
    public void Rejections_BeyondTheRetainedLimit_AreCountedNotListed()
    {
        var tracker = new AckTracker(startPosition: 0);
        for (var i = 0; i < AckTracker.MaxRetainedRejections + 10; i++)
        {
            tracker.Track(i + 1).Acknowledge(new EntryRejection(RejectionKind.Invalid, "bad", $"bad {i}"));
        }

        Assert.Equal(AckTracker.MaxRetainedRejections + 10, tracker.RejectedCount);
        Assert.Equal(AckTracker.MaxRetainedRejections, tracker.Rejections.Count);
    }

    [Fact]
    public void SourceState_IsWhatTheTrackerCarries()
    {
        var request = new object();
        var tracker = new AckTracker(startPosition: 0) { State = request };

        Assert.Same(request, tracker.Track(1).SourceState);
        Assert.Null(AckToken.None.SourceState);
    }

    [Fact]
    public void EntryRejection_EmptyReasonOrMessage_Throws()
    {
        Assert.Throws<ArgumentException>(() => new EntryRejection(RejectionKind.Invalid, "", "message"));
        Assert.Throws<ArgumentException>(() => new EntryRejection(RejectionKind.Invalid, "reason", ""));
    }

    [Fact]
    public async Task StageReject_DropsCountsAndTellsTheSource()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(
            "validate",
            e => e.LineLength > 3 ? StageResult.Reject(s_tooLong) : StageResult.Keep));

        await harness.Source.WriteLinesAsync("ok", "too long", "ok");
        var entries = await harness.DrainAsync();

        Assert.Equal(2, entries.Count);
        await harness.Source.WaitForCommittedAsync(3);
        Assert.Same(s_tooLong, Assert.Single(harness.Source.Rejections));
        Assert.Equal(1, harness.Metrics.Dropped("validate", "line_too_long"));
    }

    [Fact]
    public void StageResult_Reject_IsADropWithItsReason()
    {
        var result = StageResult.Reject(s_limited);

        Assert.True(result.IsDrop);
        Assert.Equal("rate_limited", result.DropReason);
        Assert.Same(s_limited, result.Rejection);
        Assert.NotEqual(StageResult.Drop("rate_limited"), result);
        Assert.Equal("Reject(rate_limited)", result.ToString());
    }
}
