using Pipeline.Runtime;

namespace Pipeline.Tests.Runtime;

public sealed class AckTokenTests
{
    [Fact]
    public void None_IsNoOp()
    {
        var none = AckToken.None;

        Assert.True(none.IsNone);
        Assert.Equal(default, none);
        none.Acknowledge();
        none.Complete();
        Assert.True(none == AckToken.None);
        Assert.Equal(AckToken.None.GetHashCode(), none.GetHashCode());
    }

    [Fact]
    public void Tracked_IsNotNone_AndEqualityIsByIdentity()
    {
        var tracker = new AckTracker();
        var a = tracker.Track(1);
        var b = tracker.Track(2);
        var copy = a;

        Assert.False(a.IsNone);
        Assert.True(a == copy);
        Assert.True(a.Equals((object)copy));
        Assert.Equal(a.GetHashCode(), copy.GetHashCode());
        Assert.True(a != b);
        Assert.False(a.Equals("a"));
        Assert.NotEqual(a, new AckTracker().Track(1));
    }

    [Fact]
    public void Merge_WithNone_ReturnsTheOtherToken()
    {
        var tracker = new AckTracker();
        var token = tracker.Track(1);

        Assert.Equal(token, AckToken.Merge(AckToken.None, token));
        Assert.Equal(token, AckToken.Merge(token, AckToken.None));
        Assert.True(AckToken.Merge(AckToken.None, AckToken.None).IsNone);
    }

    [Fact]
    public void Merge_ConsecutiveTokens_AcknowledgeTheWholeRange()
    {
        var tracker = new AckTracker();
        var tokens = new AckToken[5];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = tracker.Track((i + 1) * 10);
        }

        var merged = AckToken.Merge(AckToken.Merge(tokens[0], tokens[1]), tokens[2]);
        var mergedAgain = AckToken.Merge(AckToken.Merge(tokens[0], tokens[1]), tokens[2]);

        // A contiguous merge is a plain range token, so equal merges compare equal.
        Assert.Equal(merged, mergedAgain);
        merged.Acknowledge();
        Assert.Equal(30, tracker.CommittedPosition);
        Assert.Equal(2, tracker.InFlight);

        AckToken.Merge(tokens[3], tokens[4]).Acknowledge();
        Assert.Equal(50, tracker.CommittedPosition);
    }

    [Fact]
    public void Merge_ConsecutiveRange_WithRequiredTwo_CountsOneAckPerEntry()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var merged = AckToken.Merge(tracker.Track(10), tracker.Track(20));

        merged.Acknowledge();
        Assert.Equal(0, tracker.CommittedPosition);

        merged.Acknowledge();
        Assert.Equal(20, tracker.CommittedPosition);
    }

    [Fact]
    public void Merge_NonContiguousTokens_AcknowledgeEachPart()
    {
        var tracker = new AckTracker();
        var t0 = tracker.Track(10);
        var t1 = tracker.Track(20);
        var t2 = tracker.Track(30);
        var t3 = tracker.Track(40);

        // t0 and t2 skip t1; t3 then t1 are out of order.
        var merged = AckToken.Merge(t0, t2);
        merged.Acknowledge();
        Assert.Equal(10, tracker.CommittedPosition);

        AckToken.Merge(t3, t1).Acknowledge();
        Assert.Equal(40, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void Merge_TokensOfDifferentTrackers_AcknowledgesBoth()
    {
        var first = new AckTracker();
        var second = new AckTracker(requiredAcknowledgements: 2);
        var a = first.Track(100);
        var b = second.Track(200);

        var merged = AckToken.Merge(a, b);
        Assert.False(merged.IsNone);

        merged.Acknowledge();
        Assert.Equal(100, first.CommittedPosition);
        Assert.Equal(0, second.CommittedPosition);

        merged.Complete();
        Assert.Equal(200, second.CommittedPosition);
    }

    [Fact]
    public void Merge_GroupWithMore_FlattensAndAcknowledgesAll()
    {
        var x = new AckTracker();
        var y = new AckTracker();
        var x0 = x.Track(1);
        var y0 = y.Track(1);
        var x1 = x.Track(2);
        var y1 = y.Track(2);

        var group = AckToken.Merge(AckToken.Merge(x0, y0), AckToken.Merge(x1, y1));
        var bigger = AckToken.Merge(group, AckToken.None);
        Assert.Equal(group, bigger);

        group.Acknowledge();
        Assert.Equal(2, x.CommittedPosition);
        Assert.Equal(2, y.CommittedPosition);
    }

    [Fact]
    public void Merge_ManyConsecutiveTokens_LikeAMultilineJoin()
    {
        var tracker = new AckTracker(startPosition: 0);
        var merged = AckToken.None;
        for (var i = 1; i <= 1000; i++)
        {
            merged = AckToken.Merge(merged, tracker.Track(i));
        }

        var next = tracker.Track(1001);
        merged.Acknowledge();
        Assert.Equal(1000, tracker.CommittedPosition);
        next.Acknowledge();
        Assert.Equal(1001, tracker.CommittedPosition);
    }

    [Fact]
    public void Complete_OnMergedToken_SettlesEveryPart()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 4);
        var t0 = tracker.Track(10);
        var t1 = tracker.Track(20);
        var t2 = tracker.Track(30);

        AckToken.Merge(AckToken.Merge(t0, t1), t2).Complete();

        Assert.Equal(30, tracker.CommittedPosition);
    }

    [Fact]
    public void Merge_TokenWithItself_AcknowledgesOnce()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var token = tracker.Track(1);

        AckToken.Merge(token, token).Acknowledge();

        Assert.Equal(0, tracker.CommittedPosition);
        token.Acknowledge();
        Assert.Equal(1, tracker.CommittedPosition);
    }

    [Fact]
    public void AcknowledgeAll_CoalescesRuns_SameResultAsOneByOne()
    {
        var a = new AckTracker(requiredAcknowledgements: 2);
        var b = new AckTracker();
        var a1 = a.Track(10);
        var a2 = a.Track(20);
        var b1 = b.Track(5);
        var a3 = a.Track(30);
        var a4 = a.Track(40);
        var merged = AckToken.Merge(b.Track(6), b.Track(7));

        AckToken.AcknowledgeAll([a1, a2, b1, AckToken.None, a4, merged]);

        Assert.Equal(0, a.CommittedPosition);
        Assert.Equal(7, b.CommittedPosition);
        AckToken.AcknowledgeAll([a1, a2, a3]);
        Assert.Equal(20, a.CommittedPosition);
        a3.Acknowledge();
        Assert.Equal(30, a.CommittedPosition);
        a4.Acknowledge();
        Assert.Equal(40, a.CommittedPosition);
    }
}
