using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.RotationTorture;

/// <summary>One torture run's settings.</summary>
/// <param name="Mode">How the node rotates.</param>
/// <param name="Pods">How many pods write.</param>
/// <param name="LinesPerPod">How many lines each writes.</param>
/// <param name="LinesPerSecond">Each pod's rate.</param>
/// <param name="RotateBytes">The size at which a file is rotated.</param>
/// <param name="Kills">How many times the agent is SIGKILLed (and restarted) while rotation goes on.</param>
/// <param name="OutageGenerations">When above 0, the endpoint answers 500 from early on until this many rotations (with compression) happened.</param>
/// <param name="Timeout">How long the run may take in all.</param>
/// <param name="WorkDirectory">Where the files go (a new temporary folder when <see langword="null"/>; removed afterwards
/// unless a line was lost or duplicated beyond the bound, so a failed run can be looked into).</param>
internal sealed record TortureOptions(
    RotationMode Mode, int Pods, int LinesPerPod, int LinesPerSecond, long RotateBytes, int Kills, int OutageGenerations, TimeSpan Timeout, string? WorkDirectory = null)
{
    public long Expected => (long)Pods * LinesPerPod;
}

/// <summary>What a torture run found.</summary>
internal sealed record TortureResult(
    TortureOptions Options, long Received, long Lost, long Duplicates, int Kills, int MaxBatchLines, int Rotations, int DeletedByNode,
    long RssAtOutageStart, long RssPeakInOutage, long FailedPushes, TimeSpan ResumedAfter, TimeSpan Elapsed, double AgentCpuSeconds, IReadOnlyList<string> Missing, string AgentLog,
    string? KeptIn = null)
{
    /// <summary>The bound on duplicates: one unacknowledged batch per kill (one client).</summary>
    public long DuplicateBound => (long)Kills * MaxBatchLines;

    public override string ToString() =>
        $"{Options.Mode}: {Options.Expected:N0} lines ({Options.Pods} pods x {Options.LinesPerPod:N0} at {Options.LinesPerSecond:N0}/s each), " +
        $"{Rotations} rotations, {DeletedByNode} files deleted by the node, {Kills} SIGKILLs" +
        (Options.OutageGenerations > 0 ? $", endpoint down (500 x {FailedPushes:N0}) for {Options.OutageGenerations} rotations, agent RSS {RssAtOutageStart / 1e6:F1} MB at the outage's start, peak {RssPeakInOutage / 1e6:F1} MB during it, delivery resumed {ResumedAfter.TotalSeconds:F1} s after the recovery" : string.Empty) +
        $": received {Received:N0}, lost {Lost:N0}, duplicates {Duplicates:N0} (bound {Kills} x largest batch {MaxBatchLines:N0} = {DuplicateBound:N0}), " +
        $"{Elapsed.TotalSeconds:F1} s, agent CPU {AgentCpuSeconds:F1} s" +
        (KeptIn is null ? string.Empty : $"; files, agent log, positions and journal kept in {KeptIn}");
}

/// <summary>
/// Runs the agent process against a node whose pods log and rotate, kills it and restarts it (or takes its endpoint
/// down) while rotation goes on, and counts which lines arrived how often at the receiver.
/// </summary>
internal static class TortureRun
{
    public static async Task<TortureResult> RunAsync(TortureOptions options, Action<string>? progress = null)
    {
        var root = options.WorkDirectory ?? Directory.CreateTempSubdirectory("rotation-torture-").FullName;
        Directory.CreateDirectory(root);
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(options.Timeout);
        await using var receiver = await IdReceiver.StartAsync(options.Pods, options.LinesPerPod).ConfigureAwait(false);
        using var journal = new Journal(Path.Combine(root, "journal.log"));
        var writer = new NodeWriter(new NodeWriterOptions(root, options.Pods, options.LinesPerPod, options.LinesPerSecond, options.RotateBytes, options.Mode), journal);
        var config = Path.Combine(root, "agent.yaml");
        var positions = Path.Combine(root, "positions.yaml");
        var agentLog = Path.Combine(root, "agent.log");
        File.WriteAllText(config, AgentConfig(root, writer.Glob, receiver.PushUrl));
        var cpu = TimeSpan.Zero;
        long rssStart = 0, rssPeak = 0;
        var resumedAfter = TimeSpan.Zero;
        var kills = 0;
        var agent = await AgentProcess.StartAsync(config, agentLog, options.Timeout).ConfigureAwait(false);
        journal.Write($"agent started (pid {agent.Id})");
        try
        {
            var writing = writer.RunAsync(deadline.Token);

            // A rotation count the writer never reaches (it finished first) ends the wait too.
            Task Rotations(int count) => Task.WhenAny(writer.WhenRotations(count), writing).WaitAsync(deadline.Token);

            // Rotations expected in all, to spread the kills over the run.
            var expectedRotations = (int)(options.Expected * 110 / options.RotateBytes);
            for (var kill = 1; kill <= options.Kills; kill++)
            {
                // Killed right after a rotation, once this agent has delivered lines of its own (it is mid-work, also
                // after the pods stopped writing) and is at most a generation per pod behind the pods: a node keeps
                // only a few generations, so an agent killed far behind (a loaded machine runs it and starts it
                // slowly) finds the ones it had not read deleted when it is back, a loss it can count, not prevent.
                var delivered = receiver.Unique;
                await receiver.WaitForUniqueAsync(Math.Min(options.Expected, delivered + 1), options.Timeout).WaitAsync(deadline.Token).ConfigureAwait(false);
                await receiver.WaitForUniqueAsync(writer.Written - (options.Pods * writer.LinesPerGeneration), options.Timeout).WaitAsync(deadline.Token).ConfigureAwait(false);
                await Rotations(Math.Max(writer.Rotations + 1, expectedRotations * kill / (options.Kills + 1))).ConfigureAwait(false);
                cpu += agent.CpuTime;
                await agent.KillAsync().ConfigureAwait(false);
                await agent.DisposeAsync().ConfigureAwait(false);
                kills++;
                journal.Write($"agent killed ({kill}/{options.Kills}) at {receiver.Unique:N0} lines received, {writer.Written:N0} written");
                if (File.Exists(positions))
                {
                    File.Copy(positions, $"{positions}.kill{kill}", overwrite: true);
                }

                // The half-read files rotate (and the ones before get compressed) while the agent is down.
                var rotated = writer.Rotations + options.Pods;
                progress?.Invoke($"killed the agent ({kill}/{options.Kills}) at {receiver.Unique:N0} lines received; restarting after {rotated} rotations");
                await Rotations(rotated).ConfigureAwait(false);
                agent = await AgentProcess.StartAsync(config, agentLog, options.Timeout).ConfigureAwait(false);
                journal.Write($"agent restarted (pid {agent.Id})");
            }

            if (options.OutageGenerations > 0)
            {
                // Warmed up first: lines have gone through, so the RSS compared is the running agent's.
                await Rotations(options.Pods).ConfigureAwait(false);
                await receiver.WaitForUniqueAsync(Math.Min(options.Expected, 1000), options.Timeout).ConfigureAwait(false);
                rssStart = rssPeak = agent.RssBytes;
                receiver.Failing = true;
                journal.Write("endpoint down");
                var end = writer.Rotations + options.OutageGenerations;
                progress?.Invoke($"endpoint down at {receiver.Unique:N0} lines received (agent RSS {rssStart / 1e6:F1} MB), until {end} rotations");
                for (var rotation = writer.Rotations + 1; rotation <= end; rotation++)
                {
                    await Rotations(rotation).ConfigureAwait(false);
                    rssPeak = Math.Max(rssPeak, agent.RssBytes);
                }

                rssPeak = Math.Max(rssPeak, agent.RssBytes);
                var before = receiver.Unique;
                receiver.Failing = false;
                journal.Write("endpoint back");
                var back = Stopwatch.StartNew();
                await receiver.WaitForUniqueAsync(before + 1, options.Timeout).ConfigureAwait(false);
                resumedAfter = back.Elapsed;
                progress?.Invoke($"endpoint back after {receiver.Failed:N0} failed pushes (agent RSS peak {rssPeak / 1e6:F1} MB); delivery resumed {resumedAfter.TotalSeconds:F1} s later");
            }

            await writing.ConfigureAwait(false);
            var left = options.Timeout - clock.Elapsed;
            await receiver.WaitForUniqueAsync(options.Expected, left > TimeSpan.Zero ? left : TimeSpan.Zero).ConfigureAwait(false);
            cpu += agent.CpuTime;
        }
        finally
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }

        journal.Write($"done: {receiver.Unique:N0} of {options.Expected:N0} ids received, {receiver.Duplicates:N0} duplicates");
        foreach (var anomaly in receiver.Anomalies())
        {
            journal.Write(anomaly);
        }

        journal.Dispose();
        var log = File.Exists(agentLog) ? File.ReadAllText(agentLog) : string.Empty;
        var result = new TortureResult(
            options, receiver.Unique, options.Expected - receiver.Unique, receiver.Duplicates, kills, receiver.MaxBatch, writer.Rotations, writer.Deleted,
            rssStart, rssPeak, receiver.Failed, resumedAfter, clock.Elapsed, cpu.TotalSeconds, receiver.Missing(20), log);
        if (options.WorkDirectory is not null || result.Lost > 0 || result.Duplicates > result.DuplicateBound)
        {
            return result with { KeptIn = root };
        }

        Directory.Delete(root, recursive: true);
        return result;
    }

    private static string AgentConfig(string root, string glob, Uri push) => $"""
        server:
          http_listen_address: 127.0.0.1
          http_listen_port: {FreePort()}
          log_level: info
        positions:
          filename: {Path.Combine(root, "positions.yaml")}
        target_config:
          sync_period: 1s
        clients:
          - url: {push}
        scrape_configs:
          - job_name: pods
            pipeline_stages:
              - cri: {"{}"}
            static_configs:
              - labels:
                  job: pods
                  __path__: {glob}
        """;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
