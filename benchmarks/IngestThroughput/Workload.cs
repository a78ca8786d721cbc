using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.IngestThroughput;

/// <summary>Pre-encoded push bodies: each client owns streams / clients streams and pushes its bodies in order.</summary>
internal sealed class Workload
{
    private static readonly string[] s_paths = ["/api/cart", "/api/checkout", "/api/orders/4711", "/healthz", "/api/search?q=boots", "/api/users/me/preferences"];
    private static readonly string[] s_levels = ["info", "info", "info", "warn", "error", "debug"];
    private static readonly string[] s_messages = ["request served", "cache miss, loading from upstream", "slow upstream response", "request served"];

    public required List<byte[]>[] Bodies { get; init; }

    public long Lines { get; init; }

    public long LineBytes { get; init; }

    public long ProtobufBytes { get; init; }

    public long CompressedBytes { get; init; }

    public int BodyCount { get; init; }

    public long FirstNs { get; init; }

    public long LastNs { get; init; }

    public static Workload Generate(int lines, int streams, int clients, int bodyBytes)
    {
        var labels = new LabelSet[streams];
        for (var s = 0; s < streams; s++)
        {
            var ns = $"shop-{s % 5}";
            labels[s] = LabelSet.Create(
                new Label("bench", "ingest"),
                new Label("namespace", ns),
                new Label("pod", $"checkout-{s:D3}-7d9f8c6b5-{(s * 7919) % 100000:D5}"),
                new Label("container", s % 3 == 0 ? "sidecar" : "api"),
                new Label("job", $"{ns}/checkout"));
        }

        // Timestamps: ten minutes ago onwards, 1 µs apart within each stream (inside Loki's default acceptance window).
        var start = (DateTimeOffset.UtcNow.AddMinutes(-10) - DateTimeOffset.UnixEpoch).Ticks * 100;
        var perStream = new long[streams];
        var random = new Random(42);
        var bodies = new List<byte[]>[clients];
        var perClient = streams / clients;
        long lineBytes = 0, protobuf = 0, compressed = 0, produced = 0, last = start;
        var count = 0;
        var text = new StringBuilder(256);
        var buffer = new byte[1024];
        using var builder = new PushRequestBuilder();
        using var output = new PooledBufferWriter();
        for (var c = 0; c < clients; c++)
        {
            bodies[c] = [];
            var share = (lines / clients) + (c < lines % clients ? 1 : 0);
            for (var n = 0; n < share; n++)
            {
                var stream = (c * perClient) + random.Next(perClient);
                var ts = start + (perStream[stream]++ * 1000);
                last = Math.Max(last, ts);
                var time = DateTimeOffset.UnixEpoch.AddTicks(ts / 100);
                text.Clear()
                    .Append("{\"level\":\"").Append(s_levels[random.Next(s_levels.Length)])
                    .Append("\",\"ts\":\"").Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture))
                    .Append("\",\"msg\":\"").Append(s_messages[random.Next(s_messages.Length)])
                    .Append("\",\"method\":\"GET\",\"path\":\"").Append(s_paths[random.Next(s_paths.Length)])
                    .Append("\",\"status\":").Append(random.Next(10) == 0 ? 500 : 200)
                    .Append(",\"duration_ms\":").Append(random.Next(2500))
                    .Append(",\"user\":\"u-").Append(random.Next(100_000).ToString("D5", CultureInfo.InvariantCulture))
                    .Append("\",\"trace_id\":\"").Append(random.NextInt64().ToString("x16", CultureInfo.InvariantCulture)).Append("\"}");
                var length = Encoding.UTF8.GetBytes(text.ToString(), buffer);
                builder.Add(labels[stream], ts, buffer.AsSpan(0, length), ReadOnlySpan<Label>.Empty);
                lineBytes += length;
                produced++;
                if (builder.ProtobufLength >= bodyBytes)
                {
                    Flush(c);
                }
            }

            Flush(c);
        }

        return new Workload
        {
            Bodies = bodies,
            Lines = produced,
            LineBytes = lineBytes,
            ProtobufBytes = protobuf,
            CompressedBytes = compressed,
            BodyCount = count,
            FirstNs = start,
            LastNs = last,
        };

        void Flush(int client)
        {
            if (builder.EntryCount == 0)
            {
                return;
            }

            output.Clear();
            protobuf += PushBodyEncoder.WriteSnappyProtobuf(builder, output);
            compressed += output.WrittenCount;
            bodies[client].Add(output.WrittenSpan.ToArray());
            count++;
            builder.Clear();
        }
    }

    /// <summary>Pushes one body, backing off on 429/503 as a Loki client would; returns the number of retries.</summary>
    public static async Task<int> PushAsync(HttpClient http, byte[] body)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var response = await http.PostAsync("loki/api/v1/push", content);
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                return attempt;
            }

            var message = await response.Content.ReadAsStringAsync();
            if ((response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) && attempt < 100)
            {
                // A benchmark, not a test: back off on wall time as a Loki client would.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(attempt + 1, 20)));
                continue;
            }

            throw new InvalidOperationException($"push answered {(int)response.StatusCode}: {message}");
        }
    }
}
