using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Pipeline.Diagnostics;
using Pipeline.Prometheus.Exposition;
using Pipeline.Prometheus.Tests.TestSupport;

namespace Pipeline.Prometheus.Tests.Exposition;

public sealed class ExpositionTests
{
    private const string GoldenText = """
        # HELP app_requests_total Requests \\ handled\nby "us"
        # TYPE app_requests_total counter
        app_requests_total{code="200",path="/a\"b\\c\nd"} 2
        app_requests_total{code="500",path="/"} 1
        # HELP queue_depth Queue depth.
        # TYPE queue_depth gauge
        queue_depth 3
        # HELP request_duration_seconds Request duration.
        # TYPE request_duration_seconds histogram
        request_duration_seconds_bucket{method="GET",le="0.1"} 1
        request_duration_seconds_bucket{method="GET",le="1"} 2
        request_duration_seconds_bucket{method="GET",le="+Inf"} 3
        request_duration_seconds_sum{method="GET"} 3.55
        request_duration_seconds_count{method="GET"} 3
        # HELP temperature Temperature.
        # TYPE temperature gauge
        temperature{room="a b",unit_name="x"} 21.5

        """;

    private const string GoldenOpenMetrics = """
        # HELP app_requests Requests \\ handled\nby \"us\"
        # TYPE app_requests counter
        app_requests_total{code="200",path="/a\"b\\c\nd"} 2
        app_requests_total{code="500",path="/"} 1
        # HELP queue_depth Queue depth.
        # TYPE queue_depth gauge
        queue_depth 3
        # HELP request_duration_seconds Request duration.
        # TYPE request_duration_seconds histogram
        request_duration_seconds_bucket{method="GET",le="0.1"} 1
        request_duration_seconds_bucket{method="GET",le="1.0"} 2
        request_duration_seconds_bucket{method="GET",le="+Inf"} 3
        request_duration_seconds_sum{method="GET"} 3.55
        request_duration_seconds_count{method="GET"} 3
        # HELP temperature Temperature.
        # TYPE temperature gauge
        temperature{room="a b",unit_name="x"} 21.5
        # EOF

        """;

    [Fact]
    public async Task Kestrel_PlainAccept_ServesGoldenText004()
    {
        var meterName = UniqueMeterName();
        using var metrics = new PrometheusMetrics(Options(meterName));
        using var meter = new Meter(meterName);
        RecordGoldenInstruments(meter);
        await using var server = await TestWebServer.StartAsync(app => app.MapPrometheusMetrics(metrics));
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await client.GetAsync("metrics");

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(GoldenText.ReplaceLineEndings("\n"), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Kestrel_PrometheusAcceptHeader_ServesGoldenOpenMetrics()
    {
        var meterName = UniqueMeterName();
        using var metrics = new PrometheusMetrics(Options(meterName));
        using var meter = new Meter(meterName);
        RecordGoldenInstruments(meter);
        await using var server = await TestWebServer.StartAsync(app => app.MapPrometheusMetrics(metrics));
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");

        // What Prometheus 2.x/3.x sends.
        request.Headers.TryAddWithoutValidation(
            "Accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        using var response = await client.SendAsync(request);

        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(GoldenOpenMetrics.ReplaceLineEndings("\n"), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Kestrel_ServicesRegistration_ServesPipelineComponentCounters()
    {
        var meterName = UniqueMeterName();
        await using var server = await TestWebServer.StartAsync(
            app => app.MapPrometheusMetrics(),
            services => services.AddPrometheusMetrics(options =>
            {
                options.Meters.Clear();
                options.Meters.Add(meterName);
            }));
        using var meter = new Meter(meterName);
        var component = ComponentMetrics.Create(meter, "agent", "loki");
        component.AddReceived(5);
        component.AddDropped(2, "rate_limited");
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        var text = await client.GetStringAsync("metrics");

        Assert.Contains("# HELP pipeline_component_received_total Entries a component took in.\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE pipeline_component_received_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("pipeline_component_received_total{component=\"loki\",pipeline=\"agent\"} 5\n", text, StringComparison.Ordinal);
        Assert.Contains("pipeline_component_dropped_total{component=\"loki\",pipeline=\"agent\",reason=\"rate_limited\"} 2\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoMetersWithOneName_SameSeries_AppearsOnce()
    {
        var meterName = UniqueMeterName();
        using var metrics = new PrometheusMetrics(Options(meterName));
        using var first = new Meter(meterName);
        using var second = new Meter(meterName);
        first.CreateCounter<long>("dup", null, "Dup.").Add(1, new KeyValuePair<string, object?>("a", "1"));
        second.CreateCounter<long>("dup", null, "Dup.").Add(2, new KeyValuePair<string, object?>("a", "1"));
        second.CreateCounter<long>("dup", null, "Dup.").Add(4, new KeyValuePair<string, object?>("a", "2"));

        var text = Render(metrics, ExpositionFormat.PrometheusText);

        Assert.Equal(1, CountOccurrences(text, "# TYPE dup_total counter\n"));
        Assert.Equal(1, CountOccurrences(text, "dup_total{a=\"1\"} "));
        Assert.Equal(1, CountOccurrences(text, "dup_total{a=\"2\"} 4\n"));
    }

    [Fact]
    public void SameNameDifferentTypes_KeepsOneFamilyAndCountsTheRest()
    {
        var meterName = UniqueMeterName();
        using var metrics = new PrometheusMetrics(Options(meterName));
        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("clash").Add(1);
        meter.CreateHistogram<double>("clash").Record(1);

        var snapshot = metrics.Collect();

        var family = Assert.Single(snapshot.Families);
        Assert.Equal("clash", family.Name);
        Assert.Equal(1, snapshot.DroppedSeries);
    }

    [Fact]
    public void DottedTagKeysAndNonStringValues_BecomeValidLabels()
    {
        var meterName = UniqueMeterName();
        using var metrics = new PrometheusMetrics(Options(meterName));
        using var meter = new Meter(meterName);
        meter.CreateCounter<double>("http.server.requests").Add(
            1.5,
            new KeyValuePair<string, object?>("http.status_code", 404),
            new KeyValuePair<string, object?>("ok", false),
            new KeyValuePair<string, object?>("2xx", null));

        var text = Render(metrics, ExpositionFormat.PrometheusText);

        Assert.Contains("http_server_requests_total{_2xx=\"\",http_status_code=\"404\",ok=\"false\"} 1.5\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NoInstruments_OpenMetrics_IsJustEof()
    {
        using var metrics = new PrometheusMetrics(Options(UniqueMeterName()));

        Assert.Equal(string.Empty, Render(metrics, ExpositionFormat.PrometheusText));
        Assert.Equal("# EOF\n", Render(metrics, ExpositionFormat.OpenMetrics));
    }

    [Theory]
    [InlineData(null, ExpositionFormat.PrometheusText)]
    [InlineData("", ExpositionFormat.PrometheusText)]
    [InlineData("*/*", ExpositionFormat.PrometheusText)]
    [InlineData("text/plain;version=0.0.4", ExpositionFormat.PrometheusText)]
    [InlineData("application/openmetrics-text", ExpositionFormat.OpenMetrics)]
    [InlineData("text/plain;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5", ExpositionFormat.PrometheusText)]
    [InlineData("application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5", ExpositionFormat.OpenMetrics)]
    [InlineData("application/json", ExpositionFormat.PrometheusText)]
    public void NegotiateFormat_PicksPreferred(string? accept, ExpositionFormat expected)
    {
        Assert.Equal(expected, PrometheusMetrics.NegotiateFormat(accept));
    }

    [Theory]
    [InlineData("pipeline.component.received", "{entry}", "Counter", "pipeline_component_received")]
    [InlineData("container_cpu_usage_seconds_total", "s", "Counter", "container_cpu_usage_seconds")]
    [InlineData("container_memory_working_set_bytes", "By", "Gauge", "container_memory_working_set_bytes")]
    [InlineData("push.duration", "s", "Histogram", "push_duration_seconds")]
    [InlineData("9lives-x", null, "Gauge", "_9lives_x")]
    [InlineData("a:b", null, "Gauge", "a:b")]
    public void FamilyName_FollowsPrometheusRules(string instrument, string? unit, string kind, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.GetFamilyName(instrument, unit, Enum.Parse<MetricKind>(kind)));
    }

    [Theory]
    [InlineData(1.0, "1")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1e21, "1E+21")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void FormatValue_IsWhatPrometheusParses(double value, string expected)
    {
        Assert.Equal(expected, ExpositionWriter.FormatValue(value));
    }

    [Fact]
    public void Options_Invalid_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrometheusMetrics(new PrometheusMetricsOptions { CardinalityLimit = 0 }));
        var empty = new PrometheusMetricsOptions();
        empty.Meters.Clear();
        Assert.Throws<ArgumentException>(() => new PrometheusMetrics(empty));
    }

    internal static string UniqueMeterName() => "Test." + Guid.NewGuid().ToString("N");

    internal static PrometheusMetricsOptions Options(string meterName)
    {
        var options = new PrometheusMetricsOptions();
        options.Meters.Clear();
        options.Meters.Add(meterName);
        return options;
    }

    internal static string Render(PrometheusMetrics metrics, ExpositionFormat format)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        metrics.WriteTo(buffer, format);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void RecordGoldenInstruments(Meter meter)
    {
        var requests = meter.CreateCounter<long>("app.requests", "{request}", "Requests \\ handled\nby \"us\"");
        requests.Add(2, new KeyValuePair<string, object?>("path", "/a\"b\\c\nd"), new KeyValuePair<string, object?>("code", 200));
        requests.Add(1, new KeyValuePair<string, object?>("code", 500), new KeyValuePair<string, object?>("path", "/"));

        var depth = meter.CreateUpDownCounter<long>("queue.depth", null, "Queue depth.");
        depth.Add(5);
        depth.Add(-2);

        var duration = meter.CreateHistogram(
            "request.duration",
            "s",
            "Request duration.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        duration.Record(0.05, new KeyValuePair<string, object?>("method", "GET"));
        duration.Record(0.5, new KeyValuePair<string, object?>("method", "GET"));
        duration.Record(3, new KeyValuePair<string, object?>("method", "GET"));

        meter.CreateObservableGauge(
            "temperature",
            () => new Measurement<double>(21.5, new KeyValuePair<string, object?>("room", "a b"), new KeyValuePair<string, object?>("unit.name", "x")),
            unit: null,
            description: "Temperature.");
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
