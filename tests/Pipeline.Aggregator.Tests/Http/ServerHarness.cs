using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Http;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>A real server on 127.0.0.1 (free port) over a temp folder, with a fake clock at <see cref="TestData.Start"/>.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    private readonly bool _ownsDir;
    private readonly FakeTimeProvider? _clock;

    private ServerHarness(AggregatorServer server, TempDir dir, FakeTimeProvider? clock, bool ownsDir)
    {
        Server = server;
        Dir = dir;
        _clock = clock;
        _ownsDir = ownsDir;
        Client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public AggregatorServer Server { get; }

    public TempDir Dir { get; }

    public FakeTimeProvider Clock => _clock ?? throw new InvalidOperationException("This harness runs on the system clock.");

    public HttpClient Client { get; }

    public static async Task<ServerHarness> StartAsync(Action<AggregatorServerOptions>? configure = null, TempDir? dir = null, FakeTimeProvider? clock = null, bool systemClock = false)
    {
        var ownsDir = dir is null;
        dir ??= new TempDir();
        clock ??= systemClock ? null : TestData.Clock();
        var options = new AggregatorServerOptions { ListenAddress = "127.0.0.1:0", DataDirectory = dir.Path };
        configure?.Invoke(options);
        var server = await AggregatorServer.StartAsync(options, (TimeProvider?)clock ?? TimeProvider.System);
        return new ServerHarness(server, dir, clock, ownsDir);
    }

    public static string JsonBody(string labels, params (long Ts, string Line)[] entries)
    {
        var set = LabelSet.Parse(labels);
        var builder = new StringBuilder("{\"streams\":[{\"stream\":{");
        for (var i = 0; i < set.Count; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append(JsonSerializer.Serialize(set[i].Name)).Append(':').Append(JsonSerializer.Serialize(set[i].Value));
        }

        builder.Append("},\"values\":[");
        for (var i = 0; i < entries.Length; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append("[\"").Append(entries[i].Ts).Append("\",").Append(JsonSerializer.Serialize(entries[i].Line)).Append(']');
        }

        return builder.Append("]}]}").ToString();
    }

    public static byte[] ProtobufBody(params (string Labels, long Ts, string Line)[] entries) => TestSupport.PushBodies.Protobuf(entries);

    public Task<HttpResponseMessage> PushJsonAsync(string body, string? tenant = null, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "loki/api/v1/push") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (tenant is not null)
        {
            request.Headers.Add("X-Scope-OrgID", tenant);
        }

        configure?.Invoke(request);
        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PushProtobufAsync(byte[] body, string? tenant = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        var request = new HttpRequestMessage(HttpMethod.Post, "loki/api/v1/push") { Content = content };
        if (tenant is not null)
        {
            request.Headers.Add("X-Scope-OrgID", tenant);
        }

        return Client.SendAsync(request);
    }

    public async Task PushOkAsync(string labels, params (long Ts, string Line)[] entries)
    {
        using var response = await PushJsonAsync(JsonBody(labels, entries));
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync());
    }

    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, string? tenant = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (tenant is not null)
        {
            request.Headers.Add("X-Scope-OrgID", tenant);
        }

        using var response = await Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<JsonElement> GetJsonAsync(string path, string? tenant = null)
    {
        var (status, body) = await GetAsync(path, tenant);
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The JSON without the <c>stats</c> block (timings differ per run), compact.</summary>
    public static string WithoutStats(JsonElement root)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, root);
        }

        return Encoding.UTF8.GetString(stream.ToArray());

        static void Write(Utf8JsonWriter writer, JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name != "stats")
                    {
                        writer.WritePropertyName(property.Name);
                        Write(writer, property.Value);
                    }
                }

                writer.WriteEndObject();
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
            }
            else
            {
                element.WriteTo(writer);
            }
        }
    }

    /// <summary>Receives one whole websocket text message and parses it as JSON.</summary>
    public static async Task<JsonElement> ReceiveJsonAsync(System.Net.WebSockets.ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[256 * 1024];
        var count = 0;
        System.Net.WebSockets.ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken);
            count += result.Count;
        }
        while (!result.EndOfMessage);

        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Text, result.MessageType);
        return JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, count)).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        if (_ownsDir)
        {
            Dir.Dispose();
        }
    }
}
