using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Loki.Push;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Loki.Tests.Push;

/// <summary>Drives one <see cref="LokiPushSink"/>'s RunAsync over a channel the test owns, on a fake clock.</summary>
internal sealed class SinkHarness : IAsyncDisposable
{
    private long _position;

    public SinkHarness(LokiPushSinkOptions options, FakeTimeProvider? time = null, AckTracker? tracker = null, string name = "loki")
    {
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
        Meter = new Meter("test.loki." + Guid.NewGuid());
        Metrics = new MetricsCapture(Meter);
        Dropped = new MetricCollector<long>(Meter, LokiPushInstruments.DroppedEntries);
        Retries = new MetricCollector<long>(Meter, LokiPushInstruments.Retries);
        SentEntries = new MetricCollector<long>(Meter, LokiPushInstruments.SentEntries);
        Sink = new LokiPushSink(options, meter: Meter);
        Tracker = tracker ?? new AckTracker();
        Name = name;
        Running = Sink.RunAsync(Input.Reader, TestContexts.Component(name, Time, Meter), Abort.Token);
    }

    public string Name { get; }

    public FakeTimeProvider Time { get; }

    public Meter Meter { get; }

    public MetricsCapture Metrics { get; }

    public MetricCollector<long> Dropped { get; }

    public MetricCollector<long> Retries { get; }

    public MetricCollector<long> SentEntries { get; }

    public LokiPushSink Sink { get; }

    public AckTracker Tracker { get; }

    public Channel<EntryChunk> Input { get; } = Channel.CreateBounded<EntryChunk>(4);

    public CancellationTokenSource Abort { get; } = new();

    public Task Running { get; }

    public static LabelSet Labels(string app) => LabelSet.Create(new Label("app", app), new Label("__path__", "/var/log/x.log"));

    /// <summary>Writes one chunk; each entry gets the next position of <see cref="Tracker"/>, returned as the last one.</summary>
    public async Task<long> WriteAsync(params (LabelSet Labels, string Line, string? Tenant)[] entries)
    {
        var chunk = new EntryChunk(Math.Max(1, entries.Length));
        foreach (var (labels, line, tenant) in entries)
        {
            var entry = chunk.Add();
            entry.Timestamp = 1_732_611_600_000_000_000 + _position;
            entry.Labels = labels;
            entry.Tenant = tenant;
            entry.SetLine(line.AsSpan());
            entry.Ack = Tracker.Track(++_position);
        }

        await Input.Writer.WriteAsync(chunk);
        return _position;
    }

    public Task WriteLinesAsync(string app, params string[] lines) =>
        WriteAsync(lines.Select(l => (Labels(app), l, (string?)null)).ToArray());

    /// <summary>Waits (up to 30 s) until every entry up to <paramref name="position"/> is acknowledged.</summary>
    public Task WaitCommittedAsync(long position) => Tracker.WaitForCommitAsync(position).WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Advances the fake clock in steps, waiting on <paramref name="loki"/>'s arrival signal between steps, until <paramref name="done"/>.</summary>
    public async Task AdvanceUntilAsync(Func<bool> done, TimeSpan step, FakeLoki loki)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out advancing the fake clock.");
            Time.Advance(step);
            await loki.WaitSignalAsync(TimeSpan.FromMilliseconds(20));
        }
    }

    public async Task CompleteAsync()
    {
        Input.Writer.TryComplete();
        await Running.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static long Sum(MetricCollector<long> collector, string? reason = null) =>
        collector.GetMeasurementSnapshot()
            .Where(m => reason is null || Equals(m.Tags.GetValueOrDefault("reason"), reason))
            .Sum(m => m.Value);

    public async ValueTask DisposeAsync()
    {
        Input.Writer.TryComplete();
        await Abort.CancelAsync();
        try
        {
            await Running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
        }

        Sink.Dispose();
        Dropped.Dispose();
        Retries.Dispose();
        SentEntries.Dispose();
        Metrics.Dispose();
        Meter.Dispose();
        Abort.Dispose();
    }
}
