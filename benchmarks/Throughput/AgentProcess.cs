using System.Diagnostics;
using System.Globalization;

namespace Pipeline.Throughput;

/// <summary>
/// The published agent as its own process (a native AOT binary, an app host, or <c>dotnet pipeline-agent.dll</c>),
/// with its CPU time and memory read from <c>/proc</c> while it runs.
/// </summary>
internal sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    private AgentProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>User plus system CPU time so far (all threads: JIT, GC and the pipeline).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The resident set size now (<c>VmRSS</c>).</summary>
    public long RssBytes => ReadStatus("VmRSS:");

    /// <summary>The peak resident set size (<c>VmHWM</c>).</summary>
    public long PeakRssBytes => ReadStatus("VmHWM:");

    public static AgentProcess Start(string agent, string configFile, string logFile)
    {
        var dll = agent.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet" : agent)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (dll)
        {
            start.ArgumentList.Add(agent);
        }

        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configFile);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new AgentProcess(process, log);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            if (log.BaseStream.CanWrite)
            {
                log.WriteLine(line);
            }
        }
    }

    private long ReadStatus(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
