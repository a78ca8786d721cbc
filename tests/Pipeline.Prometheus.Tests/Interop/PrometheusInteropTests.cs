using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Pipeline.Prometheus.Exposition;
using Pipeline.Prometheus.RemoteWrite;
using Pipeline.Prometheus.Tests.Exposition;
using Pipeline.Prometheus.Tests.TestSupport;

namespace Pipeline.Prometheus.Tests.Interop;

/// <summary>Against a real Prometheus process: it scrapes our /metrics and receives our remote write.</summary>
public sealed class PrometheusInteropTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [PrometheusFact]
    public async Task RealPrometheus_ScrapesTypesAndReceivesRemoteWrite()
    {
        var meterName = ExpositionTests.UniqueMeterName();
        using var metrics = new PrometheusMetrics(ExpositionTests.Options(meterName));
        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("interop.requests", null, "Requests seen by the interop test.")
            .Add(5, new KeyValuePair<string, object?>("path", "/a\"b\\c"));
        meter.CreateUpDownCounter<long>("interop.queue.depth", null, "Queue depth.").Add(3);
        meter.CreateHistogram("interop.latency", "s", "Latency.", null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] })
            .Record(0.5);
        await using var server = await TestWebServer.StartAsync(app => app.MapPrometheusMetrics(metrics));

        using var temp = new TempDirectory();
        var port = FreePort();
        var config = temp.Write("prometheus.yml", $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: pipeline
                static_configs:
                  - targets: ["127.0.0.1:{server.BaseAddress.Port}"]
            """);
        var output = new StringBuilder();
        using var process = StartPrometheus(config, Path.Combine(temp.Path, "data"), port, output);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            await PollAsync(async () => (await TryGetAsync(http, "-/ready")) is not null, "Prometheus to be ready", process, output);

            // (b) remote write: a sample with tricky label values, now.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var options = new RemoteWriteOptions { Endpoint = new Uri(http.BaseAddress!, "api/v1/write"), MaxSamplesPerSend = 2 };
            using var sinkHttp = new HttpClient();
            await using (var sink = new RemoteWriteSink(sinkHttp, options))
            {
                await sink.StartAsync();
                await sink.WriteAsync(new RemoteWriteSample("interop_remote_written", [new("source", "test"), new("tricky", "a\"b c")], 42.5, now));
                await sink.WriteAsync(new RemoteWriteSample("interop_remote_written", [new("source", "other")], 7, now));
                await sink.StopAsync();
                Assert.True(sink.SentSamples == 2, $"remote write failed: sent {sink.SentSamples}, dropped {sink.DroppedSamples}\n{output}");
            }

            var written = await QueryUntilAsync(http, "interop_remote_written{source=\"test\"}", process, output);
            Assert.Equal("a\"b c", written.GetProperty("metric").GetProperty("tricky").GetString());
            Assert.Equal(42.5, double.Parse(written.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture));

            // (a) scrape: values and labels, then types from the metadata API.
            var counter = await QueryUntilAsync(http, "interop_requests_total{job=\"pipeline\"}", process, output);
            Assert.Equal("/a\"b\\c", counter.GetProperty("metric").GetProperty("path").GetString());
            Assert.Equal("5", counter.GetProperty("value")[1].GetString());
            // Prometheus 2.x keeps le as written: "1.0" from an OpenMetrics scrape, "1" from text 0.0.4.
            var bucket = await QueryUntilAsync(http, "interop_latency_seconds_bucket{job=\"pipeline\",le=~\"1(\\\\.0)?\"}", process, output);
            Assert.Equal("1", bucket.GetProperty("value")[1].GetString());
            Assert.Equal("3", (await QueryUntilAsync(http, "interop_queue_depth", process, output)).GetProperty("value")[1].GetString());

            Dictionary<string, string> types = [];
            await PollAsync(
                async () =>
                {
                    types = await MetadataTypesAsync(http);
                    return types.ContainsKey("interop_latency_seconds") && (types.ContainsKey("interop_requests") || types.ContainsKey("interop_requests_total"));
                },
                "metadata of the scraped metrics",
                process,
                output);
            Assert.Equal("counter", types.GetValueOrDefault("interop_requests") ?? types["interop_requests_total"]);
            Assert.Equal("gauge", types["interop_queue_depth"]);
            Assert.Equal("histogram", types["interop_latency_seconds"]);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
    }

    private static Process StartPrometheus(string config, string storage, int port, StringBuilder output)
    {
        var info = new ProcessStartInfo(PrometheusFactAttribute.FindPrometheus()!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--config.file=" + config);
        info.ArgumentList.Add("--storage.tsdb.path=" + storage);
        info.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
        info.ArgumentList.Add("--web.enable-remote-write-receiver");
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static async Task<JsonElement> QueryUntilAsync(HttpClient http, string query, Process process, StringBuilder output)
    {
        JsonElement result = default;
        await PollAsync(
            async () =>
            {
                var body = await TryGetAsync(http, "api/v1/query?query=" + Uri.EscapeDataString(query));
                if (body is null)
                {
                    return false;
                }

                using var document = JsonDocument.Parse(body);
                var results = document.RootElement.GetProperty("data").GetProperty("result");
                if (results.GetArrayLength() == 0)
                {
                    return false;
                }

                result = results[0].Clone();
                return true;
            },
            "query " + query,
            process,
            output);
        return result;
    }

    private static async Task<Dictionary<string, string>> MetadataTypesAsync(HttpClient http)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var body = await TryGetAsync(http, "api/v1/metadata");
        if (body is null)
        {
            return types;
        }

        using var document = JsonDocument.Parse(body);
        foreach (var metric in document.RootElement.GetProperty("data").EnumerateObject())
        {
            types[metric.Name] = metric.Value[0].GetProperty("type").GetString()!;
        }

        return types;
    }

    private static async Task<string?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what, Process process, StringBuilder output)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (process.HasExited || stopwatch.Elapsed > s_timeout)
            {
                string log;
                lock (output)
                {
                    log = output.ToString();
                }

                Assert.Fail($"Timed out or Prometheus exited while waiting for {what}. Prometheus output:\n{log}");
            }

            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
