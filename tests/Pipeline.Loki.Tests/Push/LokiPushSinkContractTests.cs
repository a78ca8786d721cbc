using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Loki.Protocol;
using Pipeline.Loki.Push;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;
using Pipeline.Tests.Delivery;

namespace Pipeline.Loki.Tests.Push;

/// <summary>The delivery contract run against <see cref="LokiPushSink"/> (keys are tenants).</summary>
public sealed class LokiPushSinkContractTests : DeliveryContractTests
{
    protected override string Path => "/loki/api/v1/push";

    protected override string? KeyHeader => LokiPush.TenantHeader;

    protected override IDeliverySinkUnderTest Create(Uri url, FakeTimeProvider time, DeliveryContractSettings settings)
    {
        var options = new LokiPushSinkOptions
        {
            Url = url,
            BatchWait = settings.BatchWait,
            BatchSize = settings.SmallBatches ? 200 : LokiPushSinkOptions.DefaultBatchSize,
            MaxRetries = settings.MaxRetries,

            // On the fake clock: long enough that a loaded machine's slow answer is never taken for a time-out.
            Timeout = TimeSpan.FromHours(1),
        };
        return new Driver(options, time);
    }

    protected override IReadOnlyList<string> Decode(byte[] body, HttpRequest request)
    {
        using var decoded = PushRequestDecoder.Decode(body, request.ContentType, request.Headers.ContentEncoding);
        var lines = new List<(long Timestamp, string Line)>();
        foreach (var stream in decoded.Streams)
        {
            foreach (var entry in stream.Entries)
            {
                lines.Add((entry.Timestamp, System.Text.Encoding.UTF8.GetString(entry.Line.Span)));
            }
        }

        // Entries are grouped by stream in a request; their timestamps give the written order.
        return lines.OrderBy(l => l.Timestamp).Select(l => l.Line).ToArray();
    }

    private sealed class Driver : IDeliverySinkUnderTest
    {
        private readonly LokiPushSink _sink;
        private readonly Meter _meter = new("test.loki.contract." + Guid.NewGuid());
        private readonly MetricsCapture _metrics;
        private readonly Channel<EntryChunk> _input = Channel.CreateBounded<EntryChunk>(4);
        private readonly CancellationTokenSource _abort = new();
        private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();
        private readonly Task _running;
        private long _timestamp;

        public Driver(LokiPushSinkOptions options, FakeTimeProvider time)
        {
            _metrics = new MetricsCapture(_meter);
            _sink = new LokiPushSink(options, meter: _meter);
            _running = _sink.RunAsync(_input.Reader, TestContexts.Component("loki", time, _meter), _abort.Token);
        }

        public async ValueTask WriteAsync(string key, string item)
        {
            var state = State(key);
            var chunk = new EntryChunk(1);
            var entry = chunk.Add();
            entry.Timestamp = 1_732_611_600_000_000_000 + Interlocked.Increment(ref _timestamp);
            entry.Labels = LabelSet.Create(new Label("app", "contract"));
            entry.Tenant = key.Length == 0 ? null : key;
            entry.SetLine(item.AsSpan());
            lock (_lock)
            {
                entry.Ack = state.Tracker.Track(++state.Next);
            }

            await _input.Writer.WriteAsync(chunk);
        }

        public long Settled(string key) => State(key).Tracker.CommittedPosition;

        public long Dropped(string reason) => _metrics.Dropped("loki", reason);

        public async Task CompleteAsync()
        {
            _input.Writer.TryComplete();
            await _running.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async ValueTask DisposeAsync()
        {
            _input.Writer.TryComplete();
            await _abort.CancelAsync();
            try
            {
                await _running.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
            }

            _sink.Dispose();
            _metrics.Dispose();
            _meter.Dispose();
            _abort.Dispose();
        }

        private KeyState State(string key)
        {
            lock (_lock)
            {
                if (!_keys.TryGetValue(key, out var state))
                {
                    state = new KeyState();
                    _keys.Add(key, state);
                }

                return state;
            }
        }

        private sealed class KeyState
        {
            public AckTracker Tracker { get; } = new();

            public long Next { get; set; }
        }
    }
}
