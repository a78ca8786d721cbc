using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Diagnostics;
using Pipeline.Prometheus.RemoteWrite;
using Pipeline.Testing;
using Pipeline.Tests.Delivery;

namespace Pipeline.Prometheus.Tests.RemoteWrite;

/// <summary>The delivery contract run against <see cref="RemoteWriteSink"/> (one key: remote write has no tenants of its own).</summary>
public sealed class RemoteWriteSinkContractTests : DeliveryContractTests
{
    protected override string Path => "/api/v1/write";

    protected override string? KeyHeader => null;

    protected override IDeliverySinkUnderTest Create(Uri url, FakeTimeProvider time, DeliveryContractSettings settings) => new Driver(url, time, settings);

    protected override IReadOnlyList<string> Decode(byte[] body, HttpRequest request)
    {
        var decoded = RemoteWriteEncoder.Decode(body);

        // Series are grouped in a request; the sample timestamps give the written order.
        return decoded.Timeseries
            .SelectMany(s => s.Samples.Select(sample => (sample.Timestamp, Item: s.Labels.Single(l => l.Name == "item").Value)))
            .OrderBy(x => x.Timestamp)
            .Select(x => x.Item)
            .ToArray();
    }

    private sealed class Driver : IDeliverySinkUnderTest
    {
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromHours(1) };
        private readonly Meter _meter = new("test.remote_write.contract." + Guid.NewGuid());
        private readonly MetricsCapture _metrics;
        private readonly RemoteWriteSink _sink;
        private long _timestamp;
        private bool _stopped;

        public Driver(Uri url, FakeTimeProvider time, DeliveryContractSettings settings)
        {
            _metrics = new MetricsCapture(_meter);
            var options = new RemoteWriteOptions
            {
                Endpoint = url,
                TimeProvider = time,
                BatchSendDeadline = settings.BatchWait,
                MaxSamplesPerSend = settings.SmallBatches ? 3 : RemoteWriteOptions.DefaultMaxSamplesPerSend,
                MaxRetries = settings.MaxRetries ?? RemoteWriteOptions.DefaultMaxRetries,
                Metrics = ComponentMetrics.Create(_meter, "test", "remote_write"),
            };
            _sink = new RemoteWriteSink(_http, options);
            _sink.StartAsync().GetAwaiter().GetResult();
        }

        public ValueTask WriteAsync(string key, string item) =>
            _sink.WriteAsync(new RemoteWriteSample("contract_items", [new("item", item)], 1, Interlocked.Increment(ref _timestamp)));

        public long Settled(string key) => _sink.SentSamples + _sink.DroppedSamples;

        public long Dropped(string reason) => _metrics.Dropped("remote_write", reason);

        public async Task CompleteAsync()
        {
            _stopped = true;
            await _sink.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stopped)
            {
                // Abort: the stop deadline has already passed.
                using var expired = new CancellationTokenSource();
                await expired.CancelAsync();
                await _sink.StopAsync(expired.Token).WaitAsync(TimeSpan.FromSeconds(30));
            }

            await _sink.DisposeAsync();
            _http.Dispose();
            _metrics.Dispose();
            _meter.Dispose();
        }
    }
}
