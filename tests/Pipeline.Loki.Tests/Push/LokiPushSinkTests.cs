using System.Text;
using Microsoft.AspNetCore.Http;
using Pipeline.Loki.Push;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Loki.Tests.Push;

public class LokiPushSinkTests
{
    private static LokiPushSinkOptions Options(FakeLoki loki, Action<LokiPushSinkOptions>? configure = null)
    {
        var options = new LokiPushSinkOptions { Url = loki.PushUrl, BatchWait = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(10) };
        configure?.Invoke(options);
        return options;
    }

    [Fact]
    public async Task Batching_BySize_SendsWithoutWaitingForTime()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o => o.BatchSize = 2000));
        var line = new string('a', 300);

        var last = await sink.WriteLinesAsync("api", Enumerable.Repeat(line, 20).ToArray()).ContinueWith(_ => 20L);

        await loki.WaitForRequestsAsync(2);
        await sink.CompleteAsync();
        await sink.WaitCommittedAsync(last);
        var pushes = loki.Received.ToArray();
        Assert.True(pushes.Length >= 3, $"expected several size-triggered pushes, got {pushes.Length}");
        Assert.Equal(20, pushes.Sum(p => p.Lines.Count()));
        Assert.All(pushes.SkipLast(1), p => Assert.InRange(p.Request.CalculateSize(), 2000, 2000 + 400));
    }

    [Fact]
    public async Task Batching_ByTime_FlushesAfterBatchWaitOnTheFakeClock()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki));

        await sink.WriteLinesAsync("api", "one", "two");
        await sink.WriteLinesAsync("api", "three");

        Assert.False(await loki.AnotherArrivesWithinAsync(1, TimeSpan.FromMilliseconds(200)));
        await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(250), loki);
        await sink.WaitCommittedAsync(3);
        var push = Assert.Single(loki.Received);
        Assert.Equal(["one", "two", "three"], push.Lines);
        Assert.Equal("{app=\"api\"}", Assert.Single(push.Request.Streams).Labels);
        Assert.Equal(3, sink.Metrics.Sent("loki"));
        Assert.Equal(3, SinkHarness.Sum(sink.SentEntries));
    }

    [Fact]
    public async Task Tenants_SplitIntoSeparateRequests_WithOrgIdHeader()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o => o.TenantId = "default-team"));

        var last = await sink.WriteAsync(
            (SinkHarness.Labels("a"), "a1", "team-a"),
            (SinkHarness.Labels("b"), "b1", "team-b"),
            (SinkHarness.Labels("c"), "c1", null),
            (SinkHarness.Labels("a"), "a2", "team-a"));
        await sink.CompleteAsync();
        await sink.WaitCommittedAsync(last);

        var byTenant = loki.Received.ToDictionary(p => p.Tenant!, p => p.Lines.ToArray());
        Assert.Equal(["a1", "a2"], byTenant["team-a"]);
        Assert.Equal(["b1"], byTenant["team-b"]);
        Assert.Equal(["c1"], byTenant["default-team"]);
    }

    [Fact]
    public async Task Labels_InternalRemoved_ExternalAdded_EntryLabelWins()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o =>
        {
            o.ExternalLabels["cluster"] = "prod";
            o.ExternalLabels["app"] = "overridden";
        }));

        await sink.WriteLinesAsync("api", "x");
        await sink.CompleteAsync();

        var push = Assert.Single(loki.Received);
        Assert.Equal("{app=\"api\", cluster=\"prod\"}", Assert.Single(push.Request.Streams).Labels);
    }

    [Fact]
    public async Task Retry_429WithRetryAfter_WaitsThatLongThenSucceeds()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (i, context) =>
        {
            if (i == 0)
            {
                context.Response.Headers.RetryAfter = "7";
                return Task.FromResult(429);
            }

            return Task.FromResult(204);
        };
        await using var sink = new SinkHarness(Options(loki));

        await sink.WriteLinesAsync("api", "x");
        await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(500), loki);
        var failedAt = sink.Time.GetUtcNow();
        await sink.AdvanceUntilAsync(() => loki.Count >= 2, TimeSpan.FromMilliseconds(500), loki);

        await sink.WaitCommittedAsync(1);
        // Not before Retry-After (the backoff alone would retry after 0.5-0.75 s); the clock may run past it while the
        // 429 is still on its way back to the sink, so only the lower bound is exact.
        Assert.InRange(sink.Time.GetUtcNow() - failedAt, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(60));
        Assert.Equal(1, SinkHarness.Sum(sink.Retries));
        Assert.Equal(0, SinkHarness.Sum(sink.Dropped));
    }

    [Fact]
    public async Task Retry_500ThenSuccess_DeliversOnceAndAcks()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (i, _) => Task.FromResult(i < 2 ? 500 : 204);
        await using var sink = new SinkHarness(Options(loki));

        await sink.WriteLinesAsync("api", "x", "y");
        await sink.AdvanceUntilAsync(() => loki.Count >= 3, TimeSpan.FromMilliseconds(500), loki);

        await sink.WaitCommittedAsync(2);
        Assert.Equal(2, SinkHarness.Sum(sink.Retries));
        Assert.Equal(2, sink.Metrics.Sent("loki"));
        Assert.Equal(2, sink.Metrics.Errors("loki"));
        Assert.All(loki.Received, p => Assert.Equal(["x", "y"], p.Lines));
    }

    [Fact]
    public async Task Reject_400_DropsCountsAndAcksWithoutRetry()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (i, _) => Task.FromResult(i == 0 ? 400 : 204);
        await using var sink = new SinkHarness(Options(loki));

        await sink.WriteLinesAsync("api", "bad1", "bad2");
        await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(500), loki);
        await sink.WaitCommittedAsync(2);

        await sink.WriteLinesAsync("api", "good");
        await sink.AdvanceUntilAsync(() => loki.Count >= 2, TimeSpan.FromMilliseconds(500), loki);
        await sink.WaitCommittedAsync(3);

        Assert.Equal(2, SinkHarness.Sum(sink.Dropped, "http_400"));
        Assert.Equal(2, sink.Metrics.Dropped("loki", "http_400"));
        Assert.Equal(0, SinkHarness.Sum(sink.Retries));
        Assert.Equal(["good"], loki.Received.Last().Lines);
    }

    [Fact]
    public async Task Retry_MaxRetriesExceeded_DropsAndAcks()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (_, _) => Task.FromResult(503);
        await using var sink = new SinkHarness(Options(loki, o => o.MaxRetries = 2));

        await sink.WriteLinesAsync("api", "x");
        await sink.AdvanceUntilAsync(() => sink.Tracker.CommittedPosition >= 1, TimeSpan.FromMilliseconds(500), loki);

        Assert.Equal(3, loki.Count);
        Assert.Equal(1, SinkHarness.Sum(sink.Dropped, "max_retries"));
    }

    [Fact]
    public async Task Retry_ByDefault_RetriesPastPromtailsTenAttemptsAtMostMaxBackoffApartAndDelivers()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (i, _) => Task.FromResult(i < 15 ? 503 : 204);
        await using var sink = new SinkHarness(Options(loki));
        var started = sink.Time.GetUtcNow();

        await sink.WriteLinesAsync("api", "kept");
        await sink.AdvanceUntilAsync(() => loki.Count >= 16, TimeSpan.FromMilliseconds(500), loki);
        await sink.WaitCommittedAsync(1);

        Assert.Equal(15, SinkHarness.Sum(sink.Retries));
        Assert.Equal(0, SinkHarness.Sum(sink.Dropped));
        Assert.Equal(["kept"], loki.Received.OrderBy(p => p.Index).Last().Lines);

        // 0.5 + 1 + 2 + 4 s, then at most 5 s each: a recovered endpoint is noticed within seconds, not minutes.
        Assert.InRange(sink.Time.GetUtcNow() - started, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(15 * 5 + 10));
    }

    [Fact]
    public async Task Order_PerStreamUnderRetries_IsPreserved()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (i, _) => Task.FromResult(i % 3 == 0 ? 500 : 204);
        await using var sink = new SinkHarness(Options(loki, o => o.BatchSize = 200));

        // Written in the background: while a batch is retried the sink stops reading, so writes wait for the clock.
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 30; i++)
            {
                await sink.WriteLinesAsync("api", $"line-{i:D3}-{new string('p', 60)}");
            }

            sink.Input.Writer.TryComplete();
        });
        await sink.AdvanceUntilAsync(() => sink.Running.IsCompleted, TimeSpan.FromMilliseconds(500), loki);
        await writing;
        await sink.WaitCommittedAsync(30);

        var delivered = new List<string>();
        var attempts = loki.Received.OrderBy(p => p.Index).ToArray();
        foreach (var push in attempts.Where(p => p.Index % 3 != 0))
        {
            delivered.AddRange(push.Lines);
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"line-{i:D3}-{new string('p', 60)}"), delivered);
    }

    [Fact]
    public async Task Network_ConnectionRefusedThenServerStarts_Recovers()
    {
        var port = SinkHarness.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/loki/api/v1/push");
        await using var sink = new SinkHarness(new LokiPushSinkOptions { Url = url, MaxBackoff = TimeSpan.FromSeconds(2) });

        await sink.WriteLinesAsync("api", "survives");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (sink.Metrics.Errors("loki") < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "no failed attempts seen");
            sink.Time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Yield();
            await sink.Tracker.WaitForCommitAsync(1).WaitAsync(TimeSpan.FromMilliseconds(20)).ContinueWith(_ => { });
        }

        Assert.Equal(0, sink.Tracker.CommittedPosition);
        await using var loki = await FakeLoki.StartAsync(port);
        await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(500), loki);
        await sink.WaitCommittedAsync(1);
        Assert.Equal(["survives"], Assert.Single(loki.Received).Lines);
    }

    [Fact]
    public async Task Timeout_HungEndpoint_TimesOutOnFakeClockAndRetries()
    {
        await using var loki = await FakeLoki.StartAsync();
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        loki.Respond = (i, context) => i == 0 ? hang.Task.WaitAsync(context.RequestAborted) : Task.FromResult(204);
        await using var sink = new SinkHarness(Options(loki, o => o.Timeout = TimeSpan.FromSeconds(5)));

        await sink.WriteLinesAsync("api", "x");
        await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(500), loki);
        Assert.Equal(0, sink.Tracker.CommittedPosition);
        await sink.AdvanceUntilAsync(() => loki.Count >= 2, TimeSpan.FromSeconds(1), loki);

        await sink.WaitCommittedAsync(1);
        Assert.Equal(1, SinkHarness.Sum(sink.Retries));
        hang.TrySetResult(204);
    }

    [Fact]
    public async Task FanOut_OneDeadClient_OtherDeliversAndPositionWaitsForBoth()
    {
        await using var alive = await FakeLoki.StartAsync();
        await using var dead = await FakeLoki.StartAsync();
        dead.Respond = (_, _) => Task.FromResult(503);
        var tracker = new AckTracker(requiredAcknowledgements: 2);
        await using var a = new SinkHarness(Options(alive), tracker: tracker, name: "alive");
        await using var d = new SinkHarness(Options(dead), time: a.Time, tracker: tracker, name: "dead");

        for (var i = 0; i < 3; i++)
        {
            var chunk = new EntryChunk(2);
            for (var j = 0; j < 2; j++)
            {
                var entry = chunk.Add();
                entry.Labels = SinkHarness.Labels("api");
                entry.SetLine($"l{i}{j}".AsSpan());
                entry.Timestamp = (i * 2) + j;
                entry.Ack = tracker.Track((i * 2) + j + 1);
            }

            chunk.AddReferences(1);
            await a.Input.Writer.WriteAsync(chunk);
            await d.Input.Writer.WriteAsync(chunk);
        }

        await a.AdvanceUntilAsync(() => alive.Received.Sum(p => p.Lines.Count()) >= 6 && dead.Count >= 3, TimeSpan.FromMilliseconds(500), alive);

        Assert.Equal(["l00", "l01", "l10", "l11", "l20", "l21"], alive.Received.SelectMany(p => p.Lines));
        Assert.Equal(0, tracker.CommittedPosition);
        Assert.Equal(6, a.Metrics.Sent("alive"));
    }

    [Fact]
    public async Task Auth_BasicAuthAndCustomHeaders_AreSent()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o =>
        {
            o.BasicAuthUsername = "user";
            o.BasicAuthPassword = "p@ss";
            o.Headers["X-Custom"] = "yes";
        }));

        await sink.WriteLinesAsync("api", "x");
        await sink.CompleteAsync();

        var push = Assert.Single(loki.Received);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:p@ss")), push.Authorization);
        Assert.Equal("yes", push.Headers["X-Custom"]);
        Assert.Equal("application/x-protobuf", push.Headers["Content-Type"]);
        Assert.False(push.Headers.ContainsKey("X-Scope-OrgID"));
    }

    [Fact]
    public async Task Auth_BearerTokenFile_IsReReadWhenItChanges()
    {
        var file = Path.Combine(Path.GetTempPath(), "loki-token-" + Guid.NewGuid());
        try
        {
            await File.WriteAllTextAsync(file, "first\n");
            await using var loki = await FakeLoki.StartAsync();
            await using var sink = new SinkHarness(Options(loki, o => o.BearerTokenFile = file));

            await sink.WriteLinesAsync("api", "x");
            await sink.AdvanceUntilAsync(() => loki.Count >= 1, TimeSpan.FromMilliseconds(500), loki);
            await File.WriteAllTextAsync(file, "second");
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1));
            await sink.WriteLinesAsync("api", "y");
            await sink.AdvanceUntilAsync(() => loki.Count >= 2, TimeSpan.FromMilliseconds(500), loki);

            Assert.Equal(["Bearer first", "Bearer second"], loki.Received.Select(p => p.Authorization));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Json_GzipFormat_IsDecodedByReceiver()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o =>
        {
            o.Format = LokiPushFormat.Json;
            o.GzipJson = true;
            o.BearerToken = "tok";
        }));

        await sink.WriteLinesAsync("api", "j1", "j2");
        await sink.CompleteAsync();

        var push = Assert.Single(loki.Received);
        Assert.Equal(["j1", "j2"], push.Lines);
        Assert.Equal("gzip", push.Headers["Content-Encoding"]);
        Assert.Equal("Bearer tok", push.Authorization);
    }

    [Fact]
    public async Task EntryTooLarge_IsDroppedAndAcked()
    {
        await using var loki = await FakeLoki.StartAsync();
        await using var sink = new SinkHarness(Options(loki, o => o.MaxRequestSize = 2048));

        await sink.WriteLinesAsync("api", new string('z', 5000), "small");
        await sink.CompleteAsync();
        await sink.WaitCommittedAsync(2);

        Assert.Equal(["small"], Assert.Single(loki.Received).Lines);
        Assert.Equal(1, SinkHarness.Sum(sink.Dropped, "entry_too_large"));
    }

    [Fact]
    public async Task Abort_WhileRetrying_ReturnsWithoutAcking()
    {
        await using var loki = await FakeLoki.StartAsync();
        loki.Respond = (_, _) => Task.FromResult(500);
        await using var sink = new SinkHarness(Options(loki));

        await sink.WriteLinesAsync("api", "x");
        await sink.AdvanceUntilAsync(() => loki.Count >= 2, TimeSpan.FromMilliseconds(500), loki);
        await sink.Abort.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sink.Running.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, sink.Tracker.CommittedPosition);
    }
}
