using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Pipeline.IngestThroughput;

/// <summary>The aggregator host as a process of its own, measured through /proc.</summary>
internal sealed partial class AggregatorProcess : IDisposable
{
    /// <summary>Publishes samples/Aggregator (Release, or native AOT) into <paramref name="work"/> and returns the host to start.</summary>
    public static string Publish(string work, bool aot)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pipeline.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Pipeline.sln not found above the tool; pass --aggregator");
        }

        var output = Path.Combine(work, "aggregator");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "publish", Path.Combine(root, "samples", "Aggregator", "Aggregator.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "q" })
        {
            info.ArgumentList.Add(arg);
        }

        if (aot)
        {
            info.ArgumentList.Add("-r");
            info.ArgumentList.Add(RuntimeInformation.RuntimeIdentifier);
            info.ArgumentList.Add("-p:PublishAot=true");
        }

        Console.WriteLine($"publishing samples/Aggregator (Release{(aot ? ", native AOT" : string.Empty)})...");
        using var process = Process.Start(info)!;
        var log = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed:\n{log}");
        }

        return Path.Combine(output, aot ? "Aggregator" : "Aggregator.dll");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private const double ClockTicksPerSecond = 100; // USER_HZ, what /proc/<pid>/stat counts in on Linux.

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AggregatorProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public static AggregatorProcess Start(string path, int port, string data, string config, List<(string Name, string Value)> environment)
    {
        var info = new ProcessStartInfo(path.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : path)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (path.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(path);
        }

        foreach (var arg in new[] { "--listen", $"127.0.0.1:{port}", "--data", data, "--config", config })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info)!;
        var self = new AggregatorProcess(process);
        process.OutputDataReceived += (_, e) => self.Append(e.Data);
        process.ErrorDataReceived += (_, e) => self.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return self;
    }

    public async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the aggregator exited with {_process.ExitCode}:\n{Output()}");
            }

            try
            {
                using var response = await http.GetAsync("ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the aggregator did not become ready:\n{Output()}");
    }

    public double CpuSeconds()
    {
        // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th, stime the 15th.
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    public long PeakRssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async Task StopAsync()
    {
        // SIGTERM, as Kubernetes stops it: the host flushes its chunks and closes the WAL.
        _ = Kill(_process.Id, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("the aggregator did not stop within 2 minutes; killing it");
            _process.Kill();
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
