using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Prometheus.Exposition;
using Pipeline.Prometheus.RemoteWrite;
using Pipeline.Prometheus.RemoteWrite.Protocol;
using Pipeline.Prometheus.Tests.Exposition;
using Pipeline.Prometheus.Tests.TestSupport;

namespace Pipeline.Prometheus.Tests.RemoteWrite;

public sealed class RemoteWriteSinkTests
{
    [Fact]
    public void Encode_GroupsSeries_SortsLabelsWithName_KeepsSampleOrder()
    {
        RemoteWriteSample[] samples =
        [
            new("up", [new("job", "a"), new("instance", "x")], 1, 1000),
            new("up", [new("instance", "x"), new("job", "a")], 0, 2000),
            new("up", [new("job", "b")], 1, 1000),
            new("up", [new("instance", "x"), new("job", "a")], 1, 3000),
        ];

        var (buffer, length) = RemoteWriteEncoder.Encode(RemoteWriteEncoder.Build(samples));
        var decoded = RemoteWriteEncoder.Decode(buffer.AsSpan(0, length));

        Assert.Equal(2, decoded.Timeseries.Count);
        Assert.Equal(["__name__", "instance", "job"], decoded.Timeseries[0].Labels.Select(l => l.Name));
        Assert.Equal(["up", "x", "a"], decoded.Timeseries[0].Labels.Select(l => l.Value));
        Assert.Equal([1000L, 2000L, 3000L], decoded.Timeseries[0].Samples.Select(s => s.Timestamp));
        Assert.Equal([1.0, 0.0, 1.0], decoded.Timeseries[0].Samples.Select(s => s.Value));
        Assert.Equal(["__name__", "job"], decoded.Timeseries[1].Labels.Select(l => l.Name));
    }

    [Fact]
    public void Encode_WireBytes_MatchPrompbFieldNumbers()
    {
        var request = RemoteWriteEncoder.Build([new RemoteWriteSample("m", [], 1.0, 5)]);

        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(request);

        // WriteRequest.timeseries=1 (0x0a), TimeSeries.labels=1 (0x0a) {name=1 "__name__", value=2 "m"},
        // TimeSeries.samples=2 (0x12) {value=1 double (0x09) 1.0, timestamp=2 varint (0x10) 5}.
        byte[] expected =
        [
            0x0a, 0x1c,
            0x0a, 0x0d, 0x0a, 0x08, .. "__name__"u8, 0x12, 0x01, (byte)'m',
            0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05,
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public async Task Send_FullBatch_PostsSnappyProtobufWithHeaders()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        using var http = new HttpClient();
        var options = Options(receiver, new FakeTimeProvider());
        options.MaxSamplesPerSend = 3;
        options.Headers["X-Scope-OrgID"] = "tenant-a";
        await using var sink = new RemoteWriteSink(http, options);
        await sink.StartAsync();

        for (var i = 0; i < 3; i++)
        {
            await sink.WriteAsync(new RemoteWriteSample("requests_total", [new("path", "/a\"b")], i, 1000 + i));
        }

        await RemoteWriteReceiver.WaitUntilAsync(() => sink.SentSamples == 3, "3 samples sent");
        var (request, headers, _) = Assert.Single(receiver.Calls);
        Assert.Equal("snappy", headers["Content-Encoding"]);
        Assert.Equal("application/x-protobuf", headers["Content-Type"]);
        Assert.Equal("0.1.0", headers["X-Prometheus-Remote-Write-Version"]);
        Assert.Equal("tenant-a", headers["X-Scope-OrgID"]);
        var series = Assert.Single(request.Timeseries);
        Assert.Equal("/a\"b", series.Labels.Single(l => l.Name == "path").Value);
        Assert.Equal([0.0, 1.0, 2.0], series.Samples.Select(s => s.Value));
    }

    [Fact]
    public async Task Send_PartialBatch_WaitsForDeadlineOnFakeClock()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        using var http = new HttpClient();
        var time = new FakeTimeProvider();
        var options = Options(receiver, time);
        options.BatchSendDeadline = TimeSpan.FromSeconds(5);
        await using var sink = new RemoteWriteSink(http, options);
        var waiting = new SemaphoreSlim(0);
        sink.OnWaitingForDeadline = () => waiting.Release();
        await sink.StartAsync();

        await sink.WriteAsync(new RemoteWriteSample("g", [], 1, 1));
        await sink.WriteAsync(new RemoteWriteSample("g", [], 2, 2));
        while (true)
        {
            Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)), "the sink never waited for its deadline");
            if (sink.SentSamples == 0 && receiver.Calls.IsEmpty && waiting.CurrentCount == 0)
            {
                break;
            }
        }

        time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.True(receiver.Calls.IsEmpty);
        time.Advance(TimeSpan.FromMilliseconds(1));

        await RemoteWriteReceiver.WaitUntilAsync(() => sink.SentSamples == 2, "the deadline's send");
        Assert.Equal(2, Assert.Single(receiver.Calls).Request.Timeseries.Single().Samples.Count);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    public async Task Send_RetryableStatus_RetriesWithDoublingBackoffThenSucceeds(int status)
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        receiver.Status = call => call < 2 ? status : 204;
        using var http = new HttpClient();
        var time = new FakeTimeProvider();
        var options = Options(receiver, time);
        options.MaxSamplesPerSend = 1;
        await using var sink = new RemoteWriteSink(http, options);
        var backoffs = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
        sink.OnBackoff = delay => backoffs.Enqueue(delay);
        await sink.StartAsync();

        await sink.WriteAsync(new RemoteWriteSample("c_total", [], 7, 1));
        await RemoteWriteReceiver.WaitUntilAsync(() => backoffs.Count == 1, "first backoff");
        time.Advance(TimeSpan.FromMilliseconds(30));
        await RemoteWriteReceiver.WaitUntilAsync(() => backoffs.Count == 2, "second backoff");
        time.Advance(TimeSpan.FromMilliseconds(60));
        await RemoteWriteReceiver.WaitUntilAsync(() => sink.SentSamples == 1, "the retried send");

        Assert.Equal([TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(60)], backoffs);
        Assert.Equal(3, receiver.Calls.Count);
        Assert.Equal(2, sink.FailedAttempts);
        Assert.Equal(0, sink.DroppedSamples);
    }

    [Fact]
    public async Task Send_BadRequest_DropsAndCountsWithoutRetry_ThenGoesOn()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        receiver.Status = call => call == 0 ? 400 : 204;
        using var http = new HttpClient();
        var options = Options(receiver, new FakeTimeProvider());
        options.MaxSamplesPerSend = 2;
        await using var sink = new RemoteWriteSink(http, options);
        await sink.StartAsync();

        await sink.WriteAsync(new RemoteWriteSample("a", [], 1, 1));
        await sink.WriteAsync(new RemoteWriteSample("a", [], 2, 2));
        await RemoteWriteReceiver.WaitUntilAsync(() => sink.DroppedSamples == 2, "the rejection");
        await sink.WriteAsync(new RemoteWriteSample("a", [], 3, 3));
        await sink.WriteAsync(new RemoteWriteSample("a", [], 4, 4));
        await RemoteWriteReceiver.WaitUntilAsync(() => sink.SentSamples == 2, "the next batch");

        Assert.Equal(2, receiver.Calls.Count);
        Assert.Equal(0, sink.FailedAttempts);
    }

    [Fact]
    public async Task Send_NetworkError_IsRetried()
    {
        var handler = new FlakyHandler(failures: 1);
        using var http = new HttpClient(handler);
        var time = new FakeTimeProvider();
        var options = new RemoteWriteOptions { Endpoint = new Uri("http://127.0.0.1:1/api/v1/write"), TimeProvider = time, MaxSamplesPerSend = 1 };
        await using var sink = new RemoteWriteSink(http, options);
        var backoffs = 0;
        sink.OnBackoff = _ => Interlocked.Increment(ref backoffs);
        await sink.StartAsync();

        await sink.WriteAsync(new RemoteWriteSample("a", [], 1, 1));
        await RemoteWriteReceiver.WaitUntilAsync(() => Volatile.Read(ref backoffs) == 1, "a backoff");
        time.Advance(TimeSpan.FromSeconds(1));
        await RemoteWriteReceiver.WaitUntilAsync(() => sink.SentSamples == 1, "the retried send");

        Assert.Equal(2, handler.Calls);
    }

    [Fact]
    public async Task Send_RetriesExhausted_DropsAndCounts()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        receiver.Status = _ => 503;
        using var http = new HttpClient();
        var options = Options(receiver, TimeProvider.System);
        options.MaxSamplesPerSend = 1;
        options.MaxRetries = 0;
        await using var sink = new RemoteWriteSink(http, options);
        await sink.StartAsync();

        await sink.WriteAsync(new RemoteWriteSample("a", [], 1, 1));

        await RemoteWriteReceiver.WaitUntilAsync(() => sink.DroppedSamples == 1, "the give-up");
        Assert.Equal(1, sink.FailedAttempts);
    }

    [Fact]
    public async Task Stop_SendsWhatIsBuffered_AndRefusesMore()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        using var http = new HttpClient();
        var sink = new RemoteWriteSink(http, Options(receiver, new FakeTimeProvider()));
        await sink.StartAsync();
        await sink.WriteAsync(new RemoteWriteSample("a", [], 1, 1));

        await sink.StopAsync();
        await sink.StopAsync();

        Assert.Equal(1, sink.SentSamples);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await sink.WriteAsync(new RemoteWriteSample("a", [], 2, 2)));
        await sink.DisposeAsync();
    }

    [Fact]
    public void Options_Invalid_ThrowNamingTheKey()
    {
        using var http = new HttpClient();
        var missing = Assert.Throws<ArgumentException>(() => new RemoteWriteSink(http, new RemoteWriteOptions()));
        Assert.Contains("RemoteWriteOptions.Endpoint", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new RemoteWriteSink(http, new RemoteWriteOptions { Endpoint = new Uri("file:///x") }));
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => new RemoteWriteSink(http, new RemoteWriteOptions { Endpoint = new Uri("http://h/w"), MaxSamplesPerSend = 0 }));
        Assert.Contains("MaxSamplesPerSend", size.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 30)]
    [InlineData(1, 60)]
    [InlineData(4, 480)]
    [InlineData(20, 5000)]
    public void Backoff_DoublesUpToMax(int retry, int expectedMs)
    {
        var retryOptions = new Pipeline.Delivery.DeliveryRetryOptions { MinBackoff = TimeSpan.FromMilliseconds(30), MaxBackoff = TimeSpan.FromSeconds(5), Jitter = false };
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), retryOptions.Backoff(retry));
    }

    [Fact]
    public async Task Collector_WritesCountersGaugesHistogramsWithScrapeNames()
    {
        await using var receiver = await RemoteWriteReceiver.StartAsync();
        var meterName = ExpositionTests.UniqueMeterName();
        using var metrics = new PrometheusMetrics(ExpositionTests.Options(meterName));
        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("jobs.done").Add(3, new KeyValuePair<string, object?>("queue", "q1"));
        meter.CreateUpDownCounter<int>("jobs.running").Add(2);
        meter.CreateHistogram("job.duration", "s", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] }).Record(0.5);
        using var http = new HttpClient();
        var options = Options(receiver, new FakeTimeProvider());
        await using var sink = new RemoteWriteSink(http, options);
        await sink.StartAsync();
        await using var collector = new RemoteWriteCollector(metrics, sink, TimeSpan.FromSeconds(15), [new("instance", "node-1")]);

        var written = await collector.CollectOnceAsync();
        await sink.StopAsync();

        Assert.Equal(1 + 1 + 4, written);
        var series = receiver.Accepted.SelectMany(r => r.Timeseries).ToDictionary(Key, s => s.Samples.Single().Value);
        Assert.Equal(3, series["jobs_done_total{instance=node-1,queue=q1}"]);
        Assert.Equal(2, series["jobs_running{instance=node-1}"]);
        Assert.Equal(1, series["job_duration_seconds_bucket{instance=node-1,le=1}"]);
        Assert.Equal(1, series["job_duration_seconds_bucket{instance=node-1,le=+Inf}"]);
        Assert.Equal(0.5, series["job_duration_seconds_sum{instance=node-1}"]);
        Assert.Equal(1, series["job_duration_seconds_count{instance=node-1}"]);
    }

    internal static RemoteWriteOptions Options(RemoteWriteReceiver receiver, TimeProvider time) => new()
    {
        Endpoint = receiver.Endpoint,
        TimeProvider = time,
    };

    private static string Key(TimeSeries series) =>
        series.Labels[0].Value + "{" + string.Join(",", series.Labels.Skip(1).Select(l => l.Name + "=" + l.Value)) + "}";

    private sealed class FlakyHandler(int failures) : HttpMessageHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls);
            if (call <= failures)
            {
                throw new HttpRequestException("connection refused (test)");
            }

            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NoContent));
        }
    }
}
