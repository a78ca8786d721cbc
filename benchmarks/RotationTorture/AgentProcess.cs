using System.Diagnostics;
using System.Globalization;

namespace Pipeline.RotationTorture;

/// <summary>
/// The agent as its own process, as users run it (<c>dotnet pipeline-agent.dll --config agent.yaml</c>), started,
/// SIGKILLed and restarted at will; its log goes to a file.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    private AgentProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    /// <summary>Where the agent's build output is: next to this tool (it is a project reference).</summary>
    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "pipeline-agent.dll");

    public int Id => _process.Id;

    /// <summary>The process's resident set size now, from <c>/proc</c> (0 once it has exited).</summary>
    public long RssBytes
    {
        get
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                    }
                }
            }
            catch (IOException)
            {
            }

            return 0;
        }
    }

    /// <summary>User plus system CPU time so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                return TimeSpan.Zero;
            }
        }
    }

    /// <summary>Starts the agent and waits until its pipeline has started (its log says so).</summary>
    public static async Task<AgentProcess> StartAsync(string configFile, string logFile, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AgentDll);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configFile);

        // A test host's MSBuild variables are not the agent's business.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_gcServer"] = "0";
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var agent = new AgentProcess(process, log);
        process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        process.Exited += (_, _) => agent._started.TrySetException(new InvalidOperationException($"the agent exited with {process.ExitCode} before it started; see {logFile}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await agent._started.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return agent;
    }

    /// <summary>SIGKILL: no shutdown, no final positions write.</summary>
    public async Task KillAsync()
    {
        if (_disposed)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await KillAsync().ConfigureAwait(false);
        _disposed = true;
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.BaseStream.CanWrite)
            {
                _log.WriteLine(line);
            }
        }

        // The host logs "Pipeline agent started: ..." once every source and sink runs.
        if (line.Contains("Pipeline agent started", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }
}
