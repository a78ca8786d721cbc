using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Pipeline.Loki.Protocol;
using Pipeline.Loki.Receiver;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Loki.Tests.Receiver;

public sealed class LokiPushReceiverTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Push_AnswerWaitsForTheSinksAcknowledgement()
    {
        var sink = new CollectingSink(autoAcknowledge: false);
        await using var run = await ReceiverRun.StartAsync(sink);

        var push = run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "one"), ("{app=\"api\"}", 2_000, "two")));
        await sink.WaitForCountAsync(2, s_timeout);
        Assert.False(push.IsCompleted);

        sink.AcknowledgePending();
        using var response = await push.WaitAsync(s_timeout);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(["one", "two"], sink.Lines);
        Assert.Equal(1_000, sink.Entries[0].Timestamp);
        Assert.Equal("{app=\"api\"}", sink.Entries[0].Labels.ToString());
    }

    [Fact]
    public async Task Push_RefusingSink_IsAnswered400WithWhatWasRefused()
    {
        await using var run = await ReceiverRun.StartAsync(new RejectingSink("invalid"));

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a"), ("{app=\"api\"}", 2_000, "b")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("rejected by the sink: invalid", text);
        Assert.Contains("total ignored: 2 out of 2", text);
    }

    [Fact]
    public async Task Push_SinkWhoseWriteFailed_IsAnswered500WithItsMessage()
    {
        var failed = new EntryRejection(RejectionKind.Failed, "write_failed", "store write failed: disk full");
        await using var run = await ReceiverRun.StartAsync(new RejectingSink(failed));

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a")));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("store write failed: disk full\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Push_StageRejectsSome_PartialAcceptanceListsThemAndStoresTheRest()
    {
        var tooLong = new EntryRejection(RejectionKind.Invalid, "line_too_long", "line too long");
        var sink = new CollectingSink();
        await using var run = await ReceiverRun.StartAsync(sink, p => p.Then("validate", e => e.LineLength > 3 ? StageResult.Reject(tooLong) : StageResult.Keep));

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "ok"), ("{app=\"api\"}", 2_000, "far too long"), ("{app=\"api\"}", 3_000, "ok2")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("line too long\ntotal ignored: 1 out of 3\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(["ok", "ok2"], sink.Lines);
    }

    [Fact]
    public async Task Push_LimitRefusesWholeRequest_429WithTheLimitsMessageAlone()
    {
        var limited = new EntryRejection(RejectionKind.Limited, "rate_limited", "Ingestion rate limit exceeded");
        await using var run = await ReceiverRun.StartAsync(new CollectingSink(), p => p.Then("limit", _ => StageResult.Reject(limited)));

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a"), ("{app=\"api\"}", 2_000, "b")));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("Ingestion rate limit exceeded\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Push_FailingSink_IsAnswered503()
    {
        await using var run = await ReceiverRun.StartAsync(new FailingSink());

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task Push_JsonAndGzipJson_Accepted()
    {
        var sink = new CollectingSink();
        await using var run = await ReceiverRun.StartAsync(sink);
        var json = """{"streams":[{"stream":{"app":"web"},"values":[["5000","json line",{"trace_id":"abc"}]]}]}""";

        using var plain = await run.PushAsync(Encoding.UTF8.GetBytes(json), "application/json");
        using var gzip = await run.PushAsync(Gzip(json.Replace("json line", "gzip line", StringComparison.Ordinal)), "application/json", "gzip");

        Assert.Equal(HttpStatusCode.NoContent, plain.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, gzip.StatusCode);
        Assert.Equal(["json line", "gzip line"], sink.Lines);
        Assert.Equal("abc", sink.Entries[0].Metadata["trace_id"]);
    }

    [Fact]
    public async Task Push_TenantHeader_SetsTheEntriesTenant_InvalidOneIs400()
    {
        var sink = new CollectingSink();
        await using var run = await ReceiverRun.StartAsync(sink);

        using var ok = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a")), tenant: "team-a");
        using var bad = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a")), tenant: "a/b");

        Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        Assert.Equal("team-a", sink.Entries[0].Tenant);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("unsupported character '/'", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Push_ExtraLabelsAndReceiptTime_WhenConfigured()
    {
        var sink = new CollectingSink();
        var options = new LokiPushReceiverOptions { UseIncomingTimestamp = false };
        options.Labels["pushserver"] = "agent-1";
        options.Labels["app"] = "ignored";
        await using var run = await ReceiverRun.StartAsync(sink, options: options);

        using var response = await run.PushAsync(Protobuf(("{app=\"api\"}", 1_000, "a")));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("{app=\"api\", pushserver=\"agent-1\"}", sink.Entries[0].Labels.ToString());
        Assert.NotEqual(1_000, sink.Entries[0].Timestamp);
    }

    [Fact]
    public async Task Push_BodyOverTheLimit_413_MalformedBody_400()
    {
        await using var run = await ReceiverRun.StartAsync(new CollectingSink(), options: new LokiPushReceiverOptions { MaxRequestBodyBytes = 64 });

        using var tooLarge = await run.PushAsync(new byte[1000]);
        using var malformed = await run.PushAsync([0x05, 0x10, 0xFF]);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("request body too large", await tooLarge.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("snappy", await malformed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Push_ManyEntries_SpanSeveralChunksAndAllArrive()
    {
        var sink = new CollectingSink();
        await using var run = await ReceiverRun.StartAsync(sink);
        var entries = Enumerable.Range(0, 2_000).Select(i => ("{app=\"api\"}", (long)i + 1, $"line {i}")).ToArray();

        using var response = await run.PushAsync(Protobuf(entries));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(2_000, sink.Count);
    }

    [Fact]
    public async Task Handle_BeforeThePipelineRuns_503()
    {
        var receiver = new LokiPushReceiver();
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Response.Body = new MemoryStream();

        await receiver.HandleAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
    }

    [Theory]
    [InlineData("not an address")]
    public void Options_BadListenAddress_Throws(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => new LokiPushReceiver(new LokiPushReceiverOptions { ListenAddress = address }));
        Assert.Contains("ListenAddress", error.Message);
    }

    private static byte[] Protobuf(params (string Labels, long Timestamp, string Line)[] entries) => TestSupport.PushBodies.Protobuf(entries);

    private static byte[] Gzip(string text)
    {
        using var memory = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(memory, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return memory.ToArray();
    }

    /// <summary>A pipeline from a receiver on its own 127.0.0.1 listener to the given sink.</summary>
    internal sealed class ReceiverRun : IAsyncDisposable
    {
        private readonly LogPipeline _pipeline;

        private ReceiverRun(LogPipeline pipeline, HttpClient client)
        {
            _pipeline = pipeline;
            Client = client;
        }

        public HttpClient Client { get; }

        public static async Task<ReceiverRun> StartAsync(ILogSink sink, Action<StageChain>? stages = null, LokiPushReceiverOptions? options = null)
        {
            options ??= new LokiPushReceiverOptions();
            options.ListenAddress = "127.0.0.1:0";
            var receiver = new LokiPushReceiver(options);
            var builder = LogPipeline.Create(new PipelineOptions { Name = "receiver-test" });
            builder = stages is null ? builder.From(receiver, "push") : builder.From(receiver, stages, "push");
            var pipeline = builder.To(sink).Build();
            await pipeline.StartAsync();
            var address = await receiver.Started.WaitAsync(s_timeout);
            return new ReceiverRun(pipeline, new HttpClient { BaseAddress = address, Timeout = s_timeout });
        }

        public async Task<HttpResponseMessage> PushAsync(byte[] body, string contentType = "application/x-protobuf", string? encoding = null, string? tenant = null)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            if (encoding is not null)
            {
                content.Headers.ContentEncoding.Add(encoding);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, "loki/api/v1/push") { Content = content };
            if (tenant is not null)
            {
                request.Headers.Add("X-Scope-OrgID", tenant);
            }

            return await Client.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            using var deadline = new CancellationTokenSource(s_timeout);
            await _pipeline.StopAsync(deadline.Token);
            await _pipeline.DisposeAsync();
        }
    }
}
