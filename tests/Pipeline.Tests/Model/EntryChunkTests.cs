using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Tests.Model;

public sealed class EntryChunkTests
{
    [Fact]
    public void Add_UntilFull_ThenThrows()
    {
        var chunk = new EntryChunk(3);

        Assert.Equal(3, chunk.Capacity);
        Assert.Equal(0, chunk.Count);
        Assert.False(chunk.IsFull);
        var entries = new[] { chunk.Add(), chunk.Add(), chunk.Add() };

        Assert.True(chunk.IsFull);
        Assert.Equal(3, chunk.Count);
        Assert.Equal(3, entries.Distinct().Count());
        var exception = Assert.Throws<InvalidOperationException>(() => chunk.Add());
        Assert.Contains("full", exception.Message, StringComparison.Ordinal);
        Assert.Equal(3, chunk.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Same(entries[i], chunk[i]);
            Assert.Same(entries[i], chunk.Entries[i]);
        }
    }

    [Fact]
    public void Indexer_BeyondCount_Throws()
    {
        var chunk = new EntryChunk(4);
        chunk.Add();

        Assert.Throws<ArgumentOutOfRangeException>(() => chunk[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => chunk[-1]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_InvalidCapacity_Throws(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EntryChunk(capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EntryChunkPool(capacity));
    }

    [Fact]
    public void Pool_NegativeRetained_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EntryChunkPool(4, -1));
    }

    [Fact]
    public void Pool_ReleaseThenRent_ReusesChunkWithClearedEntries()
    {
        var pool = new EntryChunkPool(chunkCapacity: 2, maxRetained: 4);
        var chunk = pool.Rent();
        Assert.Equal(2, chunk.Capacity);
        Assert.Equal(2, pool.ChunkCapacity);
        var tracker = new AckTracker();
        var first = chunk.Add();
        first.Timestamp = 99;
        first.SetLine("old line"u8);
        first.Labels = LabelSet.Parse("{a=\"b\"}");
        first.Tenant = "t";
        first.Ack = tracker.Track(1);
        first.Metadata.Set("m", "1"u8);
        first.Extracted.Set("e", "2"u8);
        chunk.Add().SetLine("second"u8);

        chunk.Release();
        var again = pool.Rent();

        Assert.Same(chunk, again);
        Assert.Equal(0, again.Count);
        var reused = again.Add();
        Assert.Same(first, reused);
        Assert.Equal(0, reused.Timestamp);
        Assert.Equal(0, reused.LineLength);
        Assert.Same(LabelSet.Empty, reused.Labels);
        Assert.Null(reused.Tenant);
        Assert.True(reused.Ack.IsNone);
        Assert.Equal(0, reused.Metadata.Count);
        Assert.Equal(0, reused.Extracted.Count);

        // The rented chunk has exactly one reference again.
        again.Release();
        Assert.Throws<InvalidOperationException>(again.Release);
    }

    [Fact]
    public void Pool_RetainsAtMostMaxRetained()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 1);
        var a = pool.Rent();
        var b = pool.Rent();
        Assert.NotSame(a, b);

        a.Release();
        b.Release();

        Assert.Same(a, pool.Rent());
        var fresh = pool.Rent();
        Assert.NotSame(a, fresh);
        Assert.NotSame(b, fresh);
    }

    [Fact]
    public void Pool_ZeroRetained_NeverReuses()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 0);
        var a = pool.Rent();
        a.Release();

        Assert.NotSame(a, pool.Rent());
    }

    [Fact]
    public void AddReferences_OnlyLastReleaseReturnsToPool()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 4);
        var chunk = pool.Rent();
        chunk.Add().SetLine("x"u8);
        chunk.AddReferences(2);

        chunk.Release();
        chunk.Release();
        Assert.Equal(1, chunk.Count);
        var other = pool.Rent();
        Assert.NotSame(chunk, other);

        chunk.Release();
        Assert.Equal(0, chunk.Count);
        Assert.Same(chunk, pool.Rent());
    }

    [Fact]
    public void AddReferences_Zero_IsNoOpAndNegativeThrows()
    {
        var chunk = new EntryChunk(1);
        chunk.AddReferences(0);

        Assert.Throws<ArgumentOutOfRangeException>(() => chunk.AddReferences(-1));
        chunk.Release();
        Assert.Throws<InvalidOperationException>(chunk.Release);
    }

    [Fact]
    public void Release_MoreThanReferenced_Throws()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 4);
        var chunk = pool.Rent();
        chunk.AddReferences(1);
        chunk.Release();
        chunk.Release();

        var exception = Assert.Throws<InvalidOperationException>(chunk.Release);
        Assert.Contains("released more times", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Release_ConcurrentFromManyThreads_ReturnsExactlyOnce()
    {
        var pool = new EntryChunkPool(chunkCapacity: 1, maxRetained: 4);
        for (var round = 0; round < 50; round++)
        {
            var chunk = pool.Rent();
            chunk.AddReferences(63);

            Parallel.For(0, 64, _ => chunk.Release());

            Assert.Throws<InvalidOperationException>(chunk.Release);

            // Returned exactly once: one rent gets it back, the next one is new.
            Assert.Same(chunk, pool.Rent());
            Assert.NotSame(chunk, pool.Rent());
        }
    }

    [Fact]
    public void AcknowledgeAll_AcknowledgesEachEntryOnce()
    {
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        var chunk = new EntryChunk(4);
        for (var i = 1; i <= 4; i++)
        {
            chunk.Add().Ack = tracker.Track(i * 10);
        }

        chunk.AcknowledgeAll();
        Assert.Equal(0, tracker.CommittedPosition);
        Assert.Equal(4, tracker.InFlight);

        chunk.AcknowledgeAll();
        Assert.Equal(40, tracker.CommittedPosition);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void AcknowledgeAll_EntriesWithoutTokens_IsNoOp()
    {
        var chunk = new EntryChunk(2);
        chunk.Add();
        chunk.Add();

        chunk.AcknowledgeAll();
        Assert.Equal(2, chunk.Count);
    }

    [Fact]
    public void Add_AfterNewEntryCreated_ResetsLeftovers()
    {
        var pool = new EntryChunkPool(chunkCapacity: 3, maxRetained: 1);
        var chunk = pool.Rent();
        for (var i = 0; i < 3; i++)
        {
            var entry = chunk.Add();
            entry.SetLine(new byte[100_000]);
            entry.Extracted.Set("k", new byte[100_000]);
        }

        chunk.Release();
        chunk = pool.Rent();

        // Only one entry added this time; it is clear, including after an oversized line was dropped.
        var reused = chunk.Add();
        Assert.Equal(1, chunk.Count);
        Assert.Equal(0, reused.LineLength);
        Assert.Equal(0, reused.Extracted.Count);
        reused.SetLine("fresh"u8);
        reused.Extracted.Set("k", "v"u8);
        Assert.Equal("fresh", reused.GetLineString());
        Assert.True(reused.Extracted.TryGetString("k", out var value));
        Assert.Equal("v", value);
    }
}
