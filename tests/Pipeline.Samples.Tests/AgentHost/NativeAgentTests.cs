using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pipeline.Samples.Tests.EmbeddedApp;
using Xunit.Abstractions;

namespace Pipeline.Samples.Tests.AgentHost;

/// <summary>
/// Publishes the agent as a native AOT binary (as its image ships it) and runs it end to end once: it tails a kubelet-style
/// pod log, runs cri and json stages and pushes protobuf+snappy into a local receiver, then stops on SIGTERM. A trim or
/// AOT break (a reflection-only API reached by the agent) fails here. Without clang, or when the ILCompiler package cannot
/// be restored, the test passes after saying it did not run.
/// </summary>
[Collection(ReleaseBuilds.Name)]
public sealed class NativeAgentTests(ITestOutputHelper output)
{
    private const int Lines = 200;
    private static readonly TimeSpan s_publishTimeout = TimeSpan.FromMinutes(20);

    [Fact]
    [Trait("Category", "NativeAot")]
    public async Task NativeAgent_Published_TailsParsesAndPushesThenStopsOnSigterm()
    {
        if (MissingToolchain() is { } missing)
        {
            output.WriteLine($"SKIPPED: {missing}");
            return;
        }

        var publish = RepositoryRoot.Combine("artifacts", "agent-aot");
        var published = await DotNetCli.RunAsync(RepositoryRoot.Path, s_publishTimeout,
            "publish", "samples/Agent/Agent.csproj", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", publish, "-nodeReuse:false");
        if (published.ExitCode != 0 && published.Output.Contains("ilcompiler", StringComparison.OrdinalIgnoreCase)
            && published.Output.Contains("error NU1", StringComparison.Ordinal))
        {
            output.WriteLine($"SKIPPED: the ILCompiler package could not be restored (no feed serves it here):\n{published.Output}");
            return;
        }

        Assert.True(published.ExitCode == 0, $"the native AOT publish failed (exit code {published.ExitCode}):\n{published.Output}");
        var binary = Path.Combine(publish, "pipeline-agent");
        Assert.True(File.Exists(binary), $"no native agent at {binary}");

        var dir = Directory.CreateTempSubdirectory("native-agent-");
        try
        {
            var log = Path.Combine(dir.FullName, "pods", "shop_checkout-7d9f8_0b5c7a4e-1f2d-4c3b-9a8e-6d5f4e3c2b1a", "api", "0.log");
            Directory.CreateDirectory(Path.GetDirectoryName(log)!);
            var text = new StringBuilder();
            for (var i = 0; i < Lines; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"2026-11-26T10:00:00.{i:D9}Z stdout F {{\"level\":\"info\",\"msg\":\"order {i}\"}}\n");
            }

            await File.WriteAllTextAsync(log, text.ToString());
            await using var endpoint = await PushEndpoint.StartAsync();
            var config = Path.Combine(dir.FullName, "agent.yaml");
            await File.WriteAllTextAsync(config, $"""
                server:
                  http_listen_address: 127.0.0.1
                  http_listen_port: 0
                positions:
                  filename: {Path.Combine(dir.FullName, "positions.yaml")}
                clients:
                  - url: {endpoint.PushUrl}
                    batchwait: 100ms
                scrape_configs:
                  - job_name: pods
                    pipeline_stages:
                      - cri: {"{}"}
                      - json:
                          expressions:
                            level: level
                      - labels:
                          level:
                    static_configs:
                      - labels:
                          job: pods
                          __path__: {Path.Combine(dir.FullName, "pods", "*", "*", "*.log")}
                """);

            var agentOutput = new StringBuilder();
            using var agent = new Process { StartInfo = new ProcessStartInfo(binary, ["--config", config]) { RedirectStandardOutput = true, RedirectStandardError = true } };
            agent.OutputDataReceived += (_, e) => DotNetCli.Append(agentOutput, e.Data);
            agent.ErrorDataReceived += (_, e) => DotNetCli.Append(agentOutput, e.Data);
            agent.Start();
            agent.BeginOutputReadLine();
            agent.BeginErrorReadLine();
            try
            {
                // Woken by each push (or the agent exiting), with a generous time-out: the agent ships the lines within its batch wait.
                using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                {
                    await Task.WhenAny(endpoint.WaitForEntriesAsync(Lines, waiting.Token), agent.WaitForExitAsync(waiting.Token));
                    await waiting.CancelAsync();
                }

                var entries = endpoint.Entries.ToList();
                var context = $"received {entries.Count} of {Lines} entries; agent output:\n{DotNetCli.Text(agentOutput)}";
                Assert.Empty(endpoint.Errors);
                Assert.True(entries.Count == Lines, context);
                Assert.All(entries, e =>
                {
                    Assert.Equal("pods", e.Labels["job"]);
                    Assert.Equal("shop", e.Labels["namespace"]);
                    Assert.Equal("checkout-7d9f8", e.Labels["pod"]);
                    Assert.Equal("api", e.Labels["container"]);
                    Assert.Equal("stdout", e.Labels["stream"]);
                    Assert.Equal("info", e.Labels["level"]);
                });
                Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"{{\"level\":\"info\",\"msg\":\"order {i}\"}}"), entries.Select(e => e.Line).OrderBy(OrderNumber));

                // SIGTERM drains and writes the positions, as in the JIT build.
                using var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await agent.WaitForExitAsync(stopped.Token);
                Assert.True(agent.ExitCode == 0, $"exit code {agent.ExitCode}; agent output:\n{DotNetCli.Text(agentOutput)}");
                Assert.Contains(log, await File.ReadAllTextAsync(Path.Combine(dir.FullName, "positions.yaml")), StringComparison.Ordinal);
            }
            finally
            {
                if (!agent.HasExited)
                {
                    agent.Kill();
                    await agent.WaitForExitAsync();
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Why a native AOT publish cannot run here, or <see langword="null"/> when it can.</summary>
    private static string? MissingToolchain()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return "the native agent test publishes for linux-x64 and runs on linux-x64 only";
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator);
        return path.Any(p => File.Exists(Path.Combine(p, "clang")))
            ? null
            : "clang is not on PATH (native AOT links with clang and lld: apt-get install clang lld zlib1g-dev)";
    }

    private static int OrderNumber(string line) => int.Parse(line.AsSpan(line.IndexOf("order ", StringComparison.Ordinal) + 6).TrimEnd("\"}"), CultureInfo.InvariantCulture);
}
