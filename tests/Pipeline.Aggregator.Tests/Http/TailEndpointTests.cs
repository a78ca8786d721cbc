using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Http;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

public sealed class TailEndpointTests
{
    private const long Second = 1_000_000_000;

    private static Uri TailUri(ServerHarness harness, string query, string parameters) =>
        new(harness.Server.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "loki/api/v1/tail?query=" + Uri.EscapeDataString(query) + parameters);

    private static string[] Lines(JsonElement response) =>
        response.GetProperty("streams").EnumerateArray().SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[1].GetString()!)).ToArray();

    [Fact]
    public async Task History_NewestLimitEntriesOldestFirst()
    {
        await using var harness = await ServerHarness.StartAsync();
        await harness.PushOkAsync("{app=\"api\"}", Enumerable.Range(1, 5).Select(i => (StartNs - ((6 - i) * Second), $"line {i}")).ToArray());

        // logcli --tail --limit 3: query, limit and start (ns); delay_for only when set (pkg/logcli/client/client.go, LiveTailQueryConn).
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(TailUri(harness, "{app=\"api\"}", $"&limit=3&start={StartNs - (10 * Second)}"), timeout.Token);
        var history = await ServerHarness.ReceiveJsonAsync(socket, timeout.Token);
        Assert.Equal(["line 3", "line 4", "line 5"], Lines(history));
        Assert.Equal(JsonValueKind.Null, history.GetProperty("dropped_entries").ValueKind);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token);
    }

    [Theory]
    [InlineData("6")]
    [InlineData("-1")]
    [InlineData("x")]
    public async Task DelayFor_OverLokisFiveSecondsOrNotANumber_Refused(string delay)
    {
        await using var harness = await ServerHarness.StartAsync();
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(TailUri(harness, "{app=\"api\"}", "&delay_for=" + delay), timeout.Token));
        Assert.Contains("400", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DelayFor_PushesWithinTheDelay_SentTogetherInTimestampOrder()
    {
        var clock = new DelaySignallingClock(TimeSpan.FromSeconds(2));
        await using var harness = await ServerHarness.StartAsync(clock: clock);
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(TailUri(harness, "{app=\"api\"}", $"&delay_for=2&start={StartNs}"), timeout.Token);
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - Second, "second"));
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - (2 * Second), "first"));

        // The delay runs on the server's (fake) clock: once the server holds the batch for delay_for, move the clock past it.
        await clock.DelayStarted.WaitAsync(timeout.Token);
        var receive = ServerHarness.ReceiveJsonAsync(socket, timeout.Token);
        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(["first", "second"], Lines(await receive));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token);
    }

    /// <summary>A fake clock that signals when a timer of the given due time is created (the tail's delay_for wait).</summary>
    private sealed class DelaySignallingClock(TimeSpan dueTime) : Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestData.Start)
    {
        public SemaphoreSlim DelayStarted { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime1, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime1, period);
            if (dueTime1 == dueTime)
            {
                DelayStarted.Release();
            }

            return timer;
        }
    }

    [Fact]
    public void DroppedEntries_ListedAsLokiDroppedStreams()
    {
        var buffer = new ArrayBufferWriter<byte>();
        TailEndpoint.WriteResponse(buffer, null, [(LabelSet.Parse("{app=\"api\", level=\"info\"}"), 1234567890123456789)]);

        // loghttp.DroppedStream: labels an object (LabelSet), timestamp a string of nanoseconds; logcli fails to read anything else.
        Assert.Equal(
            "{\"streams\":[],\"dropped_entries\":[{\"labels\":{\"app\":\"api\",\"level\":\"info\"},\"timestamp\":\"1234567890123456789\"}]}",
            Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Hub_SessionFallsBehind_DroppedEntriesKeptByLabelsAndTimestampUpToTheCap()
    {
        var hub = new TailHub();
        using var subscription = hub.Subscribe("t");
        var labels = LabelSet.Parse("{app=\"api\"}");
        for (var i = 0; i < 1024; i++)
        {
            hub.OnPushed("t", [new IngestStream(labels, [new IngestEntry(i, "queued"u8.ToArray())])]);
        }

        hub.OnPushed("t", [new IngestStream(labels, [new IngestEntry(5000, "lost"u8.ToArray()), new IngestEntry(5001, "lost too"u8.ToArray())])]);
        Assert.Equal([(labels, 5000L), (labels, 5001L)], subscription.TakeDropped());
        Assert.Empty(subscription.TakeDropped());

        var many = Enumerable.Range(0, TailSubscription.MaxDroppedEntries + 10).Select(i => new IngestEntry(i, "x"u8.ToArray())).ToArray();
        hub.OnPushed("t", [new IngestStream(labels, many)]);
        Assert.Equal(TailSubscription.MaxDroppedEntries, subscription.TakeDropped().Count);
    }
}
