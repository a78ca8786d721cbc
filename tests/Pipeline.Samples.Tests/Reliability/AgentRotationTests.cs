using Pipeline.RotationTorture;

namespace Pipeline.Samples.Tests.Reliability;

/// <summary>
/// The agent as users run it (its own process, <c>dotnet pipeline-agent.dll</c>), against pods that log numbered lines
/// at thousands of lines per second while their files rotate every megabyte: SIGKILLed and restarted while rotation
/// goes on, or with its endpoint answering 500 while generations rotate and get compressed. Every line must arrive;
/// duplicates only from what was in flight at a kill.
/// </summary>
public sealed class AgentRotationTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task RenameRotationWithGzip_AgentKilledAndRestartedThreeTimes_EveryLineArrives()
    {
        var result = await TortureRun.RunAsync(new TortureOptions(RotationMode.Rename, Pods: 2, LinesPerPod: 60_000, LinesPerSecond: 5000, RotateBytes: 1 << 20, Kills: 3, OutageGenerations: 0, s_timeout));

        AssertDelivered(result);
        Assert.Equal(3, result.Kills);
        Assert.InRange(result.Duplicates, 0, result.DuplicateBound);
    }

    [Fact]
    public async Task CopyTruncate_AgentKilledAndRestartedThreeTimes_EveryLineArrives()
    {
        var result = await TortureRun.RunAsync(new TortureOptions(RotationMode.CopyTruncate, Pods: 2, LinesPerPod: 60_000, LinesPerSecond: 5000, RotateBytes: 1 << 20, Kills: 3, OutageGenerations: 0, s_timeout));

        AssertDelivered(result);
        Assert.Equal(3, result.Kills);
        Assert.InRange(result.Duplicates, 0, result.DuplicateBound);
    }

    [Fact]
    public async Task EndpointDownWhileGenerationsRotateAndCompress_EveryLineArrivesAfterRecoveryWithFlatMemory()
    {
        // The outage lasts until each pod's file rotated four times (the older ones compressed, the oldest deleted
        // by the node's five-file limit): the agent holds what it has not read, reads it after the recovery.
        var result = await TortureRun.RunAsync(new TortureOptions(RotationMode.Rename, Pods: 2, LinesPerPod: 60_000, LinesPerSecond: 5000, RotateBytes: 1 << 20, Kills: 0, OutageGenerations: 8, s_timeout));

        AssertDelivered(result);
        Assert.Equal(0, result.Duplicates);
        Assert.True(result.FailedPushes >= 3, result.ToString());
        Assert.True(result.RssPeakInOutage - result.RssAtOutageStart < 48_000_000, result.ToString());
    }

    private static void AssertDelivered(TortureResult result)
    {
        var context = $"{result}\nmissing: {string.Join(' ', result.Missing)}\nagent log (end):\n{Tail(result.AgentLog)}";
        Assert.True(result.Lost == 0, context);
        Assert.DoesNotContain("deleted before it was read", result.AgentLog, StringComparison.Ordinal);
    }

    private static string Tail(string log) => log.Length <= 6000 ? log : log[^6000..];
}
