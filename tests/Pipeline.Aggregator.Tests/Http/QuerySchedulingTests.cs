using System.Net;
using System.Text;
using Pipeline.Aggregator.Http;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>Queries run off the request threads, stop when their client goes away, and wait in a bounded per-tenant queue.</summary>
public sealed class QuerySchedulingTests
{
    private const string Endless = "{app=\"endless\"} |= \"never there\"";
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ClientDisconnect_CancelsRunningQuery_ScanningStops()
    {
        var store = new EndlessStore();
        await using var harness = await ServerHarness.StartAsync(o => o.WrapQueryStore = inner => store.Over(inner));
        using var cts = new CancellationTokenSource();
        var request = harness.Client.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString(Endless), cts.Token);
        await store.Scanning.Task.WaitAsync(s_wait);

        // While the query scans, the server answers /ready and takes pushes.
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("ready")).Status);
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - 1_000_000_000, "pushed while a query runs"));

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await store.Stopped.Task.WaitAsync(s_wait);
        var read = store.Read;
        await PollIdleAsync(harness);
        Assert.Equal(read, store.Read);
    }

    [Fact]
    public async Task QueueFull_429TooManyOutstandingRequests_OtherTenantsAndReadyUnaffected()
    {
        var store = new EndlessStore();
        await using var harness = await ServerHarness.StartAsync(o =>
        {
            o.WrapQueryStore = inner => store.Over(inner);
            o.MultiTenant = true;
            o.MaxConcurrentQueriesPerTenant = 1;
            o.MaxQueuedQueriesPerTenant = 1;
        });
        var scheduler = harness.Server.QueryScheduler;
        using var cts = new CancellationTokenSource();
        var running = Send(harness, "a", Endless, cts.Token);
        await store.Scanning.Task.WaitAsync(s_wait);
        var queued = Send(harness, "a", "count_over_time({app=\"api\"}[1m])", cts.Token);
        await UntilAsync(scheduler, () => scheduler.Queued("a") > 0);

        using var refused = await Send(harness, "a", "count_over_time({app=\"api\"}[1m])", CancellationToken.None);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("too many outstanding requests\n", await refused.Content.ReadAsStringAsync());

        using var other = await Send(harness, "b", "count_over_time({app=\"api\"}[1m])", CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("ready")).Status);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await PollIdleAsync(harness, "a");
    }

    [Fact]
    public async Task Scheduler_SlotPassesToTheFirstWaiter_CancelledWaiterLeavesTheQueue()
    {
        var scheduler = new QueryScheduler(1, 2);
        var gate = new TaskCompletionSource();
        var first = scheduler.RunAsync("t", token => { gate.Task.Wait(token); return 1; }, CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        var second = scheduler.RunAsync("t", _ => 2, cancelled.Token);
        var third = scheduler.RunAsync("t", _ => 3, CancellationToken.None);
        Assert.Equal(2, scheduler.Queued("t"));
        var (admitted, _) = await scheduler.RunAsync("t", _ => 4, CancellationToken.None);
        Assert.False(admitted);

        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(1, scheduler.Queued("t"));
        gate.SetResult();
        Assert.Equal((true, 1), await first);
        Assert.Equal((true, 3), await third);
        Assert.Equal(0, scheduler.Running("t"));
        Assert.Equal(0, scheduler.Queued("t"));
    }

    [Fact]
    public async Task Scheduler_GlobalCap_QueuesBeyondIt_FreedThreadsGoToTenantsInTurn()
    {
        var scheduler = new QueryScheduler(maxConcurrentPerTenant: 2, maxQueuedPerTenant: 10, maxConcurrent: 2);
        var gates = new Dictionary<string, TaskCompletionSource>();
        Task<(bool, string?)> Run(string tenant, string name)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gates[name] = gate;
            return scheduler.RunAsync(tenant, token =>
            {
                gate.Task.Wait(token);
                return name;
            }, CancellationToken.None);
        }

        var a1 = Run("a", "a1");
        var a2 = Run("a", "a2");
        var a3 = Run("a", "a3");
        var a4 = Run("a", "a4");
        var b1 = Run("b", "b1");
        Assert.Equal(2, scheduler.RunningTotal);
        Assert.Equal(2, scheduler.Queued("a"));
        Assert.Equal(1, scheduler.Queued("b"));

        // Tenant a queued first, then b: the first freed thread goes to a, the next to b, though a still has queries waiting.
        gates["a1"].SetResult();
        Assert.Equal((true, "a1"), await a1);
        await UntilAsync(scheduler, () => scheduler.Queued("a") == 1);
        gates["a2"].SetResult();
        Assert.Equal((true, "a2"), await a2);
        await UntilAsync(scheduler, () => scheduler.Queued("b") == 0);
        Assert.Equal(1, scheduler.Queued("a"));
        Assert.Equal(2, scheduler.RunningTotal);

        gates["a3"].SetResult();
        gates["b1"].SetResult();
        gates["a4"].SetResult();
        Assert.Equal((true, "a3"), await a3);
        Assert.Equal((true, "b1"), await b1);
        Assert.Equal((true, "a4"), await a4);
        Assert.Equal(0, scheduler.RunningTotal);
    }

    [Fact]
    public async Task QueryRange_StartNotOnStep_PointsOnMultiplesOfStep()
    {
        // Loki's query frontend rounds start down and end up to the step: points at multiples of 60 s, not start + k*60 s.
        await using var harness = await ServerHarness.StartAsync();
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - (90 * Second), "a"), (StartNs - (30 * Second), "b"));
        var start = StartNs - (150 * Second) + (7 * Second);
        var end = StartNs - (7 * Second);
        var json = await harness.GetJsonAsync($"loki/api/v1/query_range?query={Uri.EscapeDataString("count_over_time({app=\"api\"}[1m])")}&start={start}&end={end}&step=60");
        var s = StartNs / Second;
        var values = json.GetProperty("data").GetProperty("result")[0].GetProperty("values").EnumerateArray()
            .Select(v => $"{v[0].GetDouble() - s}={v[1].GetString()}");
        Assert.Equal("-60=1 0=1", string.Join(' ', values));
    }

    private const long Second = 1_000_000_000;

    private static Task<HttpResponseMessage> Send(ServerHarness harness, string tenant, string query, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "loki/api/v1/query_range?query=" + Uri.EscapeDataString(query) + "&step=60");
        request.Headers.Add("X-Scope-OrgID", tenant);
        return harness.Client.SendAsync(request, cancellationToken);
    }

    private static Task PollIdleAsync(ServerHarness harness, string tenant = AggregatorServerOptions.SingleTenantId)
    {
        var scheduler = harness.Server.QueryScheduler;
        return UntilAsync(scheduler, () => scheduler.Running(tenant) == 0 && scheduler.Queued(tenant) == 0);
    }

    /// <summary>Waits, on the scheduler's change signal (never on time), until <paramref name="condition"/> holds.</summary>
    private static async Task UntilAsync(QueryScheduler scheduler, Func<bool> condition)
    {
        // The signal is taken before the check, so a change between the two is not missed.
        for (var next = scheduler.NextChange; !condition(); next = scheduler.NextChange)
        {
            await next.WaitAsync(s_wait);
        }
    }

    /// <summary>The real store, plus a stream {app="endless"} whose entries never end: a query over it runs until cancelled.</summary>
    private sealed class EndlessStore
    {
        private static readonly ReadOnlyMemory<byte> s_line = Encoding.UTF8.GetBytes("level=info msg=tick");
        private long _read;

        public TaskCompletionSource Scanning { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Read => Interlocked.Read(ref _read);

        public ILogQueryStore Over(ILogQueryStore inner) => new Store(this, inner);

        private IEnumerable<StoredEntry> Entries(long fromNs)
        {
            try
            {
                for (var ts = fromNs; ; ts++)
                {
                    if (Interlocked.Increment(ref _read) == 10_000)
                    {
                        Scanning.TrySetResult();
                    }

                    yield return new StoredEntry(ts, s_line);
                }
            }
            finally
            {
                Stopped.TrySetResult();
            }
        }

        private sealed class Store(EndlessStore owner, ILogQueryStore inner) : ILogQueryStore
        {
            private static readonly StoredStream s_stream = new(LabelSet.Parse("{app=\"endless\"}"));

            public IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs) =>
                matchers.Any(m => m.Name == "app" && m.Value == "endless") ? [s_stream] : inner.SelectStreams(tenant, matchers, fromNs, toNs);

            public IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction) =>
                ReferenceEquals(stream, s_stream) ? owner.Entries(fromNs) : inner.ReadEntries(tenant, stream, fromNs, toNs, direction);
        }
    }
}

/// <summary>Loki's multi-tenant queries: X-Scope-OrgID "a|b" reads both tenants, each stream labelled __tenant_id__.</summary>
public sealed class MultiTenantQueryTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public async Task QueryRange_TwoTenants_StreamsLabelledWithTheirTenant()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.MultiTenant = true);
        var ts = StartNs - (30 * Second);
        Assert.Equal(HttpStatusCode.NoContent, (await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"api\"}", (ts, "from a")), "a")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"api\"}", (ts, "from b"), (ts + 1, "b again")), "b")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"api\"}", (ts, "from c")), "c")).StatusCode);

        var logs = await harness.GetJsonAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString("{app=\"api\"}"), "b|a");
        var streams = logs.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(s => s.GetProperty("stream").GetProperty("__tenant_id__").GetString() + ":" + s.GetProperty("values").GetArrayLength());
        Assert.Equal("a:1 b:2", string.Join(' ', streams));

        var counts = await harness.GetJsonAsync("loki/api/v1/query?query=" + Uri.EscapeDataString("sum by (__tenant_id__) (count_over_time({app=\"api\"}[1m]))") + "&time=" + StartNs, "a|b");
        var values = counts.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(s => s.GetProperty("metric").GetProperty("__tenant_id__").GetString() + "=" + s.GetProperty("value")[1].GetString());
        Assert.Equal("a=1 b=2", string.Join(' ', values));

        var onlyB = await harness.GetJsonAsync("loki/api/v1/query?query=" + Uri.EscapeDataString("count_over_time({app=\"api\", __tenant_id__=\"b\"}[1m])") + "&time=" + StartNs, "a|b");
        Assert.Equal(1, onlyB.GetProperty("data").GetProperty("result").GetArrayLength());

        // One tenant alone sees only its own streams, without the label.
        var single = await harness.GetJsonAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString("{app=\"api\"}"), "a");
        Assert.False(single.GetProperty("data").GetProperty("result")[0].GetProperty("stream").TryGetProperty("__tenant_id__", out _));
    }
}
