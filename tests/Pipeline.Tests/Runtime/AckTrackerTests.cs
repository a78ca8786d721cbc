using Pipeline.Runtime;

namespace Pipeline.Tests.Runtime;

public sealed class AckTrackerTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void New_StartsAtStartPosition()
    {
        var tracker = new AckTracker(startPosition: 1234);

        Assert.Equal(1234, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
        Assert.Equal(1, tracker.RequiredAcknowledgements);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void New_RequiredBelowOne_Throws(int required)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AckTracker(required));
    }

    [Fact]
    public void InOrderAcks_AdvanceCommittedPosition()
    {
        var tracker = new AckTracker(startPosition: 5);
        var tokens = Track(tracker, 10, 20, 30);
        Assert.Equal(3, tracker.InFlight);

        tokens[0].Acknowledge();
        Assert.Equal(10, tracker.CommittedPosition);
        tokens[1].Acknowledge();
        Assert.Equal(20, tracker.CommittedPosition);
        tokens[2].Acknowledge();
        Assert.Equal(30, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void TrackMany_OneCallForARun_SameAsTrackingEach_AndGrowsPastItsInitialSize()
    {
        var tracker = new AckTracker(startPosition: 0);
        var first = Track(tracker, 1);
        var run = new AckToken[200];
        tracker.Track(run, firstPosition: 2);
        Assert.Equal(201, tracker.InFlight);

        first[0].Acknowledge();
        AckToken.AcknowledgeAll(run.AsSpan(0, 99));
        Assert.Equal(100, tracker.CommittedPosition);
        AckToken.AcknowledgeAll(run.AsSpan(99));
        Assert.Equal(201, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void OutOfOrderAcks_AdvanceOnlyWhenContiguous()
    {
        var tracker = new AckTracker(startPosition: 0);
        var tokens = Track(tracker, 10, 20, 30, 40);

        tokens[2].Acknowledge();
        tokens[1].Acknowledge();
        Assert.Equal(0, tracker.CommittedPosition);
        Assert.Equal(4, tracker.InFlight);

        tokens[0].Acknowledge();
        Assert.Equal(30, tracker.CommittedPosition);
        Assert.Equal(1, tracker.InFlight);

        tokens[3].Acknowledge();
        Assert.Equal(40, tracker.CommittedPosition);
    }

    [Fact]
    public void RequiredTwo_NeedsBothAcknowledgements()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var tokens = Track(tracker, 10, 20);

        tokens[0].Acknowledge();
        tokens[1].Acknowledge();
        Assert.Equal(0, tracker.CommittedPosition);

        tokens[1].Acknowledge();
        Assert.Equal(0, tracker.CommittedPosition);

        tokens[0].Acknowledge();
        Assert.Equal(20, tracker.CommittedPosition);
    }

    [Fact]
    public void Complete_SettlesAllPendingAcknowledgements()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 3);
        var tokens = Track(tracker, 10, 20);

        tokens[0].Acknowledge();
        tokens[0].Complete();
        Assert.Equal(10, tracker.CommittedPosition);

        tokens[1].Complete();
        Assert.Equal(20, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void OverAcking_IsHarmless()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var tokens = Track(tracker, 10, 20, 30);

        tokens[0].Complete();
        tokens[0].Acknowledge();
        tokens[0].Complete();
        tokens[0].Acknowledge();
        Assert.Equal(10, tracker.CommittedPosition);
        Assert.Equal(2, tracker.InFlight);

        // An entry acknowledged long after it was committed must not affect later ones.
        var later = Track(tracker, 40);
        tokens[0].Acknowledge();
        tokens[1].Complete();
        tokens[1].Complete();
        Assert.Equal(20, tracker.CommittedPosition);
        tokens[2].Acknowledge();
        Assert.Equal(20, tracker.CommittedPosition);
        tokens[2].Acknowledge();
        Assert.Equal(30, tracker.CommittedPosition);
        later[0].Acknowledge();
        later[0].Acknowledge();
        later[0].Acknowledge();
        Assert.Equal(40, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void OverAcking_AfterRingWrapped_DoesNotTouchReusedSlots()
    {
        var tracker = new AckTracker();
        var old = tracker.Track(1);
        old.Acknowledge();

        // Fill the ring past its initial size so that the old token's slot is reused.
        var tokens = new AckToken[200];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = tracker.Track(i + 2);
        }

        for (var i = 0; i < 10; i++)
        {
            old.Acknowledge();
            old.Complete();
        }

        Assert.Equal(1, tracker.CommittedPosition);
        Assert.Equal(200, tracker.InFlight);
    }

    [Fact]
    public void ManyInFlight_AckedInReverse_CommitsOnlyAtTheEnd()
    {
        const int Count = 10_000;
        var tracker = new AckTracker(startPosition: -1);
        var tokens = new AckToken[Count];
        for (var i = 0; i < Count; i++)
        {
            tokens[i] = tracker.Track(i * 100L);
        }

        Assert.Equal(Count, tracker.InFlight);
        for (var i = Count - 1; i >= 1; i--)
        {
            tokens[i].Acknowledge();
        }

        Assert.Equal(-1, tracker.CommittedPosition);
        Assert.Equal(Count, tracker.InFlight);

        tokens[0].Acknowledge();
        Assert.Equal((Count - 1) * 100L, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void Growth_WhileHeadIsNotAtSlotZero_KeepsPendingState()
    {
        var tracker = new AckTracker();
        var sequence = 0L;
        var pending = new Queue<AckToken>();

        // Advance the head so the ring wraps before growing, then grow with entries straddling the wrap.
        for (var i = 0; i < 50; i++)
        {
            tracker.Track(++sequence).Acknowledge();
        }

        for (var i = 0; i < 300; i++)
        {
            pending.Enqueue(tracker.Track(++sequence));
        }

        Assert.Equal(50, tracker.CommittedPosition);
        var expected = 50L;
        while (pending.Count > 0)
        {
            pending.Dequeue().Acknowledge();
            expected++;
            Assert.Equal(expected, tracker.CommittedPosition);
        }
    }

    [Fact]
    public void Interleaved_TrackAndAck_SteadyState()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var window = new Queue<AckToken>();
        for (var i = 1; i <= 5000; i++)
        {
            window.Enqueue(tracker.Track(i));
            if (window.Count == 40)
            {
                var token = window.Dequeue();
                token.Acknowledge();
                token.Acknowledge();
                Assert.Equal(i - 39, tracker.CommittedPosition);
            }
        }

        Assert.Equal(39, tracker.InFlight);
    }

    [Fact]
    public async Task WaitForCommitAsync_AlreadyReached_CompletesSynchronously()
    {
        var tracker = new AckTracker(startPosition: 100);

        var task = tracker.WaitForCommitAsync(100);
        Assert.True(task.IsCompletedSuccessfully);
        Assert.True(tracker.WaitForCommitAsync(50).IsCompletedSuccessfully);
        await task;
    }

    [Fact]
    public async Task WaitForCommitAsync_CompletesWhenPositionReached()
    {
        var tracker = new AckTracker();
        var tokens = Track(tracker, 10, 20, 30);

        var waitFor20 = tracker.WaitForCommitAsync(20);
        var waitFor25 = tracker.WaitForCommitAsync(25);
        var waitFor30 = tracker.WaitForCommitAsync(30);

        tokens[1].Acknowledge();
        Assert.False(waitFor20.IsCompleted);

        tokens[0].Acknowledge();
        await waitFor20.WaitAsync(s_timeout);
        Assert.False(waitFor25.IsCompleted);
        Assert.False(waitFor30.IsCompleted);

        tokens[2].Acknowledge();
        await waitFor25.WaitAsync(s_timeout);
        await waitFor30.WaitAsync(s_timeout);
    }

    [Fact]
    public async Task WaitForCommitAsync_HonoursCancellation()
    {
        var tracker = new AckTracker();
        var token = tracker.Track(10);
        using var cts = new CancellationTokenSource();

        var wait = tracker.WaitForCommitAsync(10, cts.Token);
        Assert.False(wait.IsCompleted);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);

        // A cancelled waiter does not break later commits or waits.
        var second = tracker.WaitForCommitAsync(10);
        token.Acknowledge();
        await second.WaitAsync(s_timeout);
        Assert.Equal(10, tracker.CommittedPosition);
    }

    [Fact]
    public async Task WaitForCommitAsync_AlreadyCancelledToken_Throws()
    {
        var tracker = new AckTracker();
        tracker.Track(10);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tracker.WaitForCommitAsync(10, new CancellationToken(canceled: true)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConcurrentAcks_FromManyThreads_CommitEverything(int required)
    {
        const int Count = 20_000;
        var tracker = new AckTracker(requiredAcknowledgements: required);
        var tokens = new AckToken[Count];
        for (var i = 0; i < Count; i++)
        {
            tokens[i] = tracker.Track(i + 1);
        }

        // Each sink acknowledges every entry from its own set of threads, in a scrambled order.
        Parallel.For(0, Count * required, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var index = (int)((i * 7919L) % Count);
            tokens[index].Acknowledge();
        });

        Assert.Equal(Count, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public async Task ConcurrentTrackAndAck_ProducerAndAckers_CommitEverything()
    {
        const int Count = 20_000;
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var queue = new System.Collections.Concurrent.BlockingCollection<AckToken>();

        var ackers = new Task[4];
        for (var a = 0; a < ackers.Length; a++)
        {
            ackers[a] = Task.Run(() =>
            {
                foreach (var token in queue.GetConsumingEnumerable())
                {
                    token.Acknowledge();
                }
            });
        }

        var done = tracker.WaitForCommitAsync(Count);
        for (var i = 1; i <= Count; i++)
        {
            var token = tracker.Track(i);
            queue.Add(token);
            queue.Add(token);
        }

        queue.CompleteAdding();
        await Task.WhenAll(ackers).WaitAsync(s_timeout);
        await done.WaitAsync(s_timeout);
        Assert.Equal(Count, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
        queue.Dispose();
    }

    private static AckToken[] Track(AckTracker tracker, params long[] positions)
    {
        var tokens = new AckToken[positions.Length];
        for (var i = 0; i < positions.Length; i++)
        {
            tokens[i] = tracker.Track(positions[i]);
        }

        return tokens;
    }
}
