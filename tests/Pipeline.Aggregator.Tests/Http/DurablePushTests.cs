using System.Net;
using Pipeline.Aggregator.Ingester;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>A push is answered only once its entries are durable in the WAL, and nothing of a failed write is visible.</summary>
public sealed class DurablePushTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private static async Task<string[]> LinesAsync(ServerHarness harness, string selector)
    {
        var json = await harness.GetJsonAsync("loki/api/v1/query_range?direction=forward&query=" + Uri.EscapeDataString(selector));
        return json.GetProperty("data").GetProperty("result").EnumerateArray()
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[1].GetString()!))
            .ToArray();
    }

    [Fact]
    public async Task Push_WalWriteFails_500AndNothingVisible_RetryIsStored()
    {
        using var dir = new TempDir();
        var failures = 1;
        await using var harness = await ServerHarness.StartAsync(o => o.Ingester = new IngesterOptions
        {
            DataDirectory = dir.Path,
            WalBeforeWrite = () =>
            {
                if (Interlocked.Decrement(ref failures) >= 0)
                {
                    throw new IOException("No space left on device");
                }
            },
        });
        var body = ServerHarness.ProtobufBody(("{app=\"wal\"}", StartNs - 2, "first"), ("{app=\"wal\"}", StartNs - 1, "second"));

        using (var failed = await harness.PushProtobufAsync(body))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Contains("No space left on device", await failed.Content.ReadAsStringAsync());
        }

        Assert.Empty(await LinesAsync(harness, "{app=\"wal\"}"));

        using (var retried = await harness.PushProtobufAsync(body))
        {
            Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        }

        Assert.Equal(["first", "second"], await LinesAsync(harness, "{app=\"wal\"}"));
    }

    [Fact]
    public async Task Push_AnsweredAndVisibleOnlyOnceTheWalHasIt()
    {
        using var dir = new TempDir();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var groups = 0;
        await using var harness = await ServerHarness.StartAsync(o => o.Ingester = new IngesterOptions
        {
            DataDirectory = dir.Path,
            WalWriterGate = () => Interlocked.Increment(ref groups) == 1 ? new ValueTask(gate.Task) : ValueTask.CompletedTask,
        });

        var push = harness.PushProtobufAsync(ServerHarness.ProtobufBody(("{app=\"held\"}", StartNs - 1, "held back")));
        await Poll(() => Volatile.Read(ref groups) >= 1);
        Assert.False(push.IsCompleted);
        Assert.Empty(await LinesAsync(harness, "{app=\"held\"}"));

        gate.SetResult();
        using var response = await push.WaitAsync(s_timeout);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(["held back"], await LinesAsync(harness, "{app=\"held\"}"));
    }

    private static async Task Poll(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(s_timeout);
        while (!condition())
        {
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }
    }
}
