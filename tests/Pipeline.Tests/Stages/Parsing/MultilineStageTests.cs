using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Parsing;
using Pipeline.Testing;

namespace Pipeline.Tests.Stages.Parsing;

public class MultilineStageTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Channel<EntryChunk> _input = Channel.CreateBounded<EntryChunk>(8);
    private readonly Channel<EntryChunk> _output = Channel.CreateUnbounded<EntryChunk>();
    private readonly AckTracker _tracker = new();
    private long _position;

    private EntryChunk Chunk(params string[] lines) => ChunkFor(LabelSet.Parse("{job=\"a\"}"), lines);

    private EntryChunk ChunkFor(LabelSet labels, params string[] lines)
    {
        var chunk = new EntryChunk(64);
        foreach (var line in lines)
        {
            var entry = chunk.Add();
            entry.Labels = labels;
            entry.Timestamp = ++_position;
            entry.SetLine(System.Text.Encoding.UTF8.GetBytes(line));
            entry.Ack = _tracker.Track(_position);
        }

        return chunk;
    }

    private Task Run(MultilineStageOptions options, CancellationToken token = default) =>
        new MultilineStage(options).RunAsync(_input.Reader, _output.Writer, TestContexts.Component("multiline", _time), token);

    private List<LogEntry> Drain()
    {
        var entries = new List<LogEntry>();
        while (_output.Reader.TryRead(out var chunk))
        {
            entries.AddRange(chunk.Entries.ToArray());
        }

        return entries;
    }

    [Fact]
    public async Task RunAsync_Blocks_JoinedUntilNextFirstLine()
    {
        var run = Run(new MultilineStageOptions { Firstline = "^\\[\\d+\\]" });
        await _input.Writer.WriteAsync(Chunk("[1] start", "  at a()", "  at b()", "[2] next", "[3] last", "  tail"));
        _input.Writer.Complete();
        await run;

        var entries = Drain();
        Assert.Equal(["[1] start\n  at a()\n  at b()", "[2] next", "[3] last\n  tail"], entries.Select(e => e.GetLineString()));
        Assert.Equal([1L, 4L, 5L], entries.Select(e => e.Timestamp));
        foreach (var e in entries)
        {
            e.Ack.Acknowledge();
        }

        Assert.Equal(6, _tracker.CommittedPosition);
    }

    [Fact]
    public async Task RunAsync_NoCommitUntilBlockDelivered()
    {
        var run = Run(new MultilineStageOptions { Firstline = "^S" });
        await _input.Writer.WriteAsync(Chunk("S one", "cont", "S two"));
        _input.Writer.Complete();
        await run;

        var entries = Drain();
        Assert.Equal(0, _tracker.CommittedPosition);
        entries[1].Ack.Acknowledge();
        Assert.Equal(0, _tracker.CommittedPosition);
        entries[0].Ack.Acknowledge();
        Assert.Equal(3, _tracker.CommittedPosition);
    }

    [Fact]
    public async Task RunAsync_MaxLines_SplitsBlock()
    {
        var run = Run(new MultilineStageOptions { Firstline = "^S", MaxLines = 2 });
        await _input.Writer.WriteAsync(Chunk("S", "a", "b", "c", "S2"));
        _input.Writer.Complete();
        await run;

        Assert.Equal(["S\na", "b\nc", "S2"], Drain().Select(e => e.GetLineString()));
    }

    [Fact]
    public async Task RunAsync_StreamsAreSeparate_AndEmptyOrInvalidLinesJoin()
    {
        var run = Run(new MultilineStageOptions { Firstline = "^S" });
        var a = LabelSet.Parse("{f=\"a\"}");
        var b = LabelSet.Parse("{f=\"b\"}");
        var chunk = ChunkFor(a, "S a1", string.Empty);
        var more = ChunkFor(b, "S b1", "b2");
        var last = ChunkFor(a, "a3");
        await _input.Writer.WriteAsync(chunk);
        await _input.Writer.WriteAsync(more);
        await _input.Writer.WriteAsync(last);
        _input.Writer.Complete();
        await run;

        var lines = Drain().Select(e => e.Labels["f"] + ":" + e.GetLineString()).Order().ToArray();
        Assert.Equal(["a:S a1\n\na3", "b:S b1\nb2"], lines);
    }

    [Fact]
    public async Task RunAsync_MaxWaitTime_FlushesIdleBlock()
    {
        var run = Run(new MultilineStageOptions { Firstline = "^S", MaxWaitTime = TimeSpan.FromSeconds(3) });
        await _input.Writer.WriteAsync(Chunk("S one", "two"));

        var wall = Stopwatch.StartNew();
        var start = _time.GetUtcNow();
        EntryChunk? chunk;
        while (!_output.Reader.TryRead(out chunk))
        {
            Assert.True(wall.Elapsed < TimeSpan.FromSeconds(30), "the block was never flushed");
            _time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Yield();
            Thread.Yield();
        }

        Assert.True(_time.GetUtcNow() - start >= TimeSpan.FromSeconds(3));
        Assert.Equal("S one\ntwo", chunk!.Entries[0].GetLineString());
        _input.Writer.Complete();
        await run;
    }

    [Fact]
    public async Task RunAsync_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        var run = Run(new MultilineStageOptions { Firstline = "^S" }, cts.Token);
        await _input.Writer.WriteAsync(Chunk("S one"));

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(0, _tracker.CommittedPosition);
    }

    [Theory]
    [InlineData(null, null, null, "multiline.firstline")]
    [InlineData("(", null, null, "multiline.firstline")]
    [InlineData("^S", -1, null, "multiline.max_wait_time")]
    [InlineData("^S", null, 0, "multiline.max_lines")]
    public void Constructor_Invalid_Throws(string? firstline, int? waitSeconds, int? maxLines, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new MultilineStage(new MultilineStageOptions
        {
            Firstline = firstline,
            MaxWaitTime = waitSeconds is { } w ? TimeSpan.FromSeconds(w) : null,
            MaxLines = maxLines,
        }));
        Assert.Contains(expected, ex.Message);
    }
}
