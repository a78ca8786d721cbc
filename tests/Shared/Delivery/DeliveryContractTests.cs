using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Pipeline.Tests.Delivery;

/// <summary>How a contract test wants the sink configured (each sink maps it onto its own options).</summary>
/// <param name="SmallBatches">Batches of a few items (2 to 4), so that a handful of writes makes several requests.</param>
/// <param name="BatchWait">How long a batch waits for more items.</param>
/// <param name="MaxRetries">Retries before a drop; <see langword="null"/> for the sink's default.</param>
public sealed record DeliveryContractSettings(bool SmallBatches, TimeSpan BatchWait, int? MaxRetries = null);

/// <summary>A sink on the delivery layer, driven by the contract tests.</summary>
public interface IDeliverySinkUnderTest : IAsyncDisposable
{
    /// <summary>Writes one item (a log line, a sample) for <paramref name="key"/> (a tenant).</summary>
    ValueTask WriteAsync(string key, string item);

    /// <summary>Items of <paramref name="key"/> whose delivery is settled (acknowledged: delivered or dropped).</summary>
    long Settled(string key);

    /// <summary>Items dropped for <paramref name="reason"/>.</summary>
    long Dropped(string reason);

    /// <summary>Completes the input (a shutdown) and waits for the sink to end.</summary>
    Task CompleteAsync();
}

/// <summary>One request the contract endpoint received.</summary>
public sealed record DeliveryContractRequest(int Index, string? Key, IReadOnlyList<string> Items, int Status);

/// <summary>What the contract endpoint answers to a request: a status, headers, or an aborted connection.</summary>
public sealed record DeliveryContractAnswer(int Status, string? RetryAfter = null, bool Abort = false, Task? HoldUntil = null);

/// <summary>
/// The behaviour every sink on the delivery layer shares (batching by size and by time on a fake clock, retries of
/// 429, 5xx and network errors honouring Retry-After, no retry of other 4xx, acknowledgements only after delivery,
/// order per key, flushing on shutdown, keys independent of each other), run against each sink by a derived class
/// that says how to build the sink and decode its requests.
/// </summary>
public abstract class DeliveryContractTests
{
    private static readonly DateTimeOffset s_start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The endpoint path the sink posts to.</summary>
    protected abstract string Path { get; }

    /// <summary>The request header that carries the key, if the protocol has keys.</summary>
    protected abstract string? KeyHeader { get; }

    /// <summary>Creates and starts the sink against <paramref name="url"/>.</summary>
    protected abstract IDeliverySinkUnderTest Create(Uri url, FakeTimeProvider time, DeliveryContractSettings settings);

    /// <summary>Decodes a request body into its items, in order.</summary>
    protected abstract IReadOnlyList<string> Decode(byte[] body, HttpRequest request);

    [Fact]
    public async Task Batching_BySize_SendsWithoutWaitingForTheClock()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: true, TimeSpan.FromHours(1)));
        var items = Items("a", 12);

        foreach (var item in items)
        {
            await sink.WriteAsync(KeyOf("a"), item);
        }

        await endpoint.WaitForAsync(() => endpoint.Count >= 2, "size-triggered requests");
        Assert.Equal(s_start, time.GetUtcNow());
        await sink.CompleteAsync();
        Assert.Equal(items, endpoint.Delivered());
        Assert.True(endpoint.Received.Count >= 3, $"expected several requests, got {endpoint.Received.Count}");
        Assert.Equal(12, sink.Settled(KeyOf("a")));
    }

    [Fact]
    public async Task Batching_ByTime_SendsOnceTheBatchHasWaitedOnTheFakeClock()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(5)));

        await sink.WriteAsync(KeyOf("a"), "one");
        await sink.WriteAsync(KeyOf("a"), "two");
        await endpoint.AdvanceUntilAsync(time, () => endpoint.Count >= 1, TimeSpan.FromMilliseconds(250));

        Assert.InRange(time.GetUtcNow() - s_start, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
        Assert.Equal(["one", "two"], endpoint.Delivered());
        await endpoint.WaitForAsync(() => sink.Settled(KeyOf("a")) == 2, "the acknowledgements");
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Retry_RetryableStatus_RetriesThenDeliversOnce(int status)
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        endpoint.Answer = (i, _) => new DeliveryContractAnswer(i < 2 ? status : 204);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(1)));

        await sink.WriteAsync(KeyOf("a"), "x");
        await endpoint.AdvanceUntilAsync(time, () => sink.Settled(KeyOf("a")) == 1, TimeSpan.FromMilliseconds(250));

        Assert.Equal(3, endpoint.Count);
        Assert.Equal(["x"], endpoint.Delivered());
        Assert.Equal(0, sink.Dropped("max_retries"));
    }

    [Fact]
    public async Task Retry_NetworkError_IsRetried()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        endpoint.Answer = (i, _) => new DeliveryContractAnswer(204, Abort: i == 0);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(1)));

        await sink.WriteAsync(KeyOf("a"), "survives");
        await endpoint.AdvanceUntilAsync(time, () => sink.Settled(KeyOf("a")) == 1, TimeSpan.FromMilliseconds(250));

        Assert.Equal(2, endpoint.Count);
        Assert.Equal(["survives"], endpoint.Delivered());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Retry_RetryAfter_InSecondsOrAsHttpDate_IsWaited(bool httpDate)
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        var time = new FakeTimeProvider(s_start);
        DateTimeOffset? failedAt = null;
        endpoint.Answer = (i, _) =>
        {
            if (i > 0)
            {
                return new DeliveryContractAnswer(204);
            }

            failedAt = time.GetUtcNow();
            var retryAfter = httpDate ? (time.GetUtcNow() + TimeSpan.FromSeconds(31)).ToString("R", CultureInfo.InvariantCulture) : "30";
            return new DeliveryContractAnswer(i == 0 ? 429 : 204, retryAfter);
        };
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(1)));

        await sink.WriteAsync(KeyOf("a"), "x");
        await endpoint.AdvanceUntilAsync(time, () => endpoint.Count >= 2, TimeSpan.FromMilliseconds(500));

        // Not before Retry-After (the backoff alone would retry within a second or two); an HTTP date has whole seconds.
        Assert.InRange(time.GetUtcNow() - failedAt!.Value, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
        await endpoint.WaitForAsync(() => sink.Settled(KeyOf("a")) == 1, "the acknowledgement");
    }

    [Fact]
    public async Task Permanent_400_IsNotRetried_DroppedCountedAndAcknowledged()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        endpoint.Answer = (i, _) => new DeliveryContractAnswer(i == 0 ? 400 : 204);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(1)));

        await sink.WriteAsync(KeyOf("a"), "bad");
        await endpoint.AdvanceUntilAsync(time, () => sink.Settled(KeyOf("a")) == 1, TimeSpan.FromMilliseconds(250));
        await sink.WriteAsync(KeyOf("a"), "good");
        await endpoint.AdvanceUntilAsync(time, () => sink.Settled(KeyOf("a")) == 2, TimeSpan.FromMilliseconds(250));

        Assert.Equal(2, endpoint.Count);
        Assert.Equal(["good"], endpoint.Delivered());
        Assert.Equal(1, sink.Dropped("http_400"));
    }

    [Fact]
    public async Task Acks_OnlyAfterTheReceiverAnswers()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        endpoint.Answer = (i, _) => new DeliveryContractAnswer(204, HoldUntil: i == 0 ? hold.Task : null);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromSeconds(1)));

        await sink.WriteAsync(KeyOf("a"), "x");
        await endpoint.AdvanceUntilAsync(time, () => endpoint.Started >= 1, TimeSpan.FromMilliseconds(250));
        Assert.Equal(0, sink.Settled(KeyOf("a")));

        hold.SetResult();
        await endpoint.WaitForAsync(() => sink.Settled(KeyOf("a")) == 1, "the acknowledgement after the answer");
    }

    [Fact]
    public async Task Order_PerKeyUnderRetries_IsKept()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        endpoint.Answer = (i, _) => new DeliveryContractAnswer(i % 3 == 0 ? 500 : 204);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: true, TimeSpan.FromSeconds(1)));
        var items = Items("a", 20);

        // Written in the background: while batches are retried the sink may stop reading, so writes wait for the clock.
        var writing = Task.Run(async () =>
        {
            foreach (var item in items)
            {
                await sink.WriteAsync(KeyOf("a"), item);
            }
        });
        await endpoint.AdvanceUntilAsync(time, () => writing.IsCompleted && sink.Settled(KeyOf("a")) == items.Length, TimeSpan.FromMilliseconds(500));
        await writing;

        Assert.Equal(items, endpoint.Delivered());
    }

    [Fact]
    public async Task Shutdown_FlushesWhatIsBuffered()
    {
        await using var endpoint = await Endpoint.StartAsync(this);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: false, TimeSpan.FromHours(1)));

        await sink.WriteAsync(KeyOf("a"), "one");
        await sink.WriteAsync(KeyOf("a"), "two");
        await sink.CompleteAsync();

        Assert.Equal(["one", "two"], endpoint.Delivered());
        Assert.Equal(2, sink.Settled(KeyOf("a")));
        Assert.Equal(s_start, time.GetUtcNow());
    }

    [Fact]
    public async Task Keys_ADeadEndpointForOneKey_DoesNotStallAnother()
    {
        if (KeyHeader is null)
        {
            return; // One key only: nothing to keep apart.
        }

        await using var endpoint = await Endpoint.StartAsync(this);
        endpoint.Answer = (_, key) => new DeliveryContractAnswer(key == "dead" ? 503 : 204);
        var time = new FakeTimeProvider(s_start);
        await using var sink = Create(endpoint.Url, time, new DeliveryContractSettings(SmallBatches: true, TimeSpan.FromSeconds(1)));

        // Several full batches for the dead key first: one is retried, the others wait in its queue.
        // Written without moving the clock: a sink that stalled on the dead key would never take them.
        foreach (var item in Items("dead", 9))
        {
            await sink.WriteAsync("dead", item).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        var alive = Items("alive", 13);
        foreach (var item in alive)
        {
            await sink.WriteAsync("alive", item).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await endpoint.AdvanceUntilAsync(time, () => sink.Settled("alive") == alive.Length, TimeSpan.FromMilliseconds(250));

        Assert.Equal(alive, endpoint.Delivered("alive"));
        Assert.Equal(0, sink.Settled("dead"));
        Assert.Contains(endpoint.Received, r => r.Key == "dead");
    }

    private string KeyOf(string key) => KeyHeader is null ? string.Empty : key;

    private static string[] Items(string key, int count) =>
        Enumerable.Range(0, count).Select(i => $"{key}-{i:D3}-{new string('p', 60)}").ToArray();

    /// <summary>A Kestrel endpoint on 127.0.0.1 (free port) that records what it is sent and answers as told.</summary>
    private sealed class Endpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly DeliveryContractTests _contract;
        private readonly SemaphoreSlim _arrived = new(0);
        private int _started;

        private Endpoint(WebApplication app, DeliveryContractTests contract)
        {
            _app = app;
            _contract = contract;
        }

        public Func<int, string?, DeliveryContractAnswer> Answer { get; set; } = (_, _) => new DeliveryContractAnswer(204);

        public ConcurrentQueue<DeliveryContractRequest> Received { get; } = new();

        public Uri Url { get; private set; } = null!;

        public int Count => Received.Count;

        /// <summary>Requests that have arrived, answered or not.</summary>
        public int Started => Volatile.Read(ref _started);

        public static async Task<Endpoint> StartAsync(DeliveryContractTests contract)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var endpoint = new Endpoint(app, contract);
            app.MapPost(contract.Path, endpoint.HandleAsync);
            await app.StartAsync();
            endpoint.Url = new Uri(new Uri(app.Urls.First()), contract.Path);
            return endpoint;
        }

        /// <summary>The items of the requests answered with a 2xx, in the order they were received (of one key, or all).</summary>
        public string[] Delivered(string? key = null) =>
            Received.Where(r => r.Status is >= 200 and < 300 && (key is null || r.Key == key)).OrderBy(r => r.Index).SelectMany(r => r.Items).ToArray();

        /// <summary>Waits (up to 30 s) on the arrival signal until <paramref name="done"/>.</summary>
        public async Task WaitForAsync(Func<bool> done, string what)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!done())
            {
                Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for " + what);
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(20));
            }
        }

        /// <summary>Advances the fake clock in steps, waiting on the arrival signal between steps, until <paramref name="done"/> (at most 30 s).</summary>
        public async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> done, TimeSpan step)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!done())
            {
                Assert.True(DateTime.UtcNow < deadline, "Timed out advancing the fake clock.");
                time.Advance(step);
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(20));
            }
        }

        public async ValueTask DisposeAsync()
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }

        private async Task HandleAsync(HttpContext context)
        {
            var index = Interlocked.Increment(ref _started) - 1;
            _arrived.Release();
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var key = _contract.KeyHeader is { } header ? context.Request.Headers[header].ToString() : null;
            var answer = Answer(index, key);
            if (answer.HoldUntil is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }

            Received.Enqueue(new DeliveryContractRequest(index, key, _contract.Decode(buffer.ToArray(), context.Request), answer.Abort ? 0 : answer.Status));
            _arrived.Release();
            if (answer.Abort)
            {
                context.Abort();
                return;
            }

            if (answer.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = answer.RetryAfter;
            }

            context.Response.StatusCode = answer.Status;
            if (answer.Status >= 400)
            {
                await context.Response.WriteAsync($"error {answer.Status}: " + new string('x', 10_000));
            }
        }
    }
}
