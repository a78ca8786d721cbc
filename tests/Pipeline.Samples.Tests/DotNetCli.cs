using System.Diagnostics;
using System.Text;

namespace Pipeline.Samples.Tests;

/// <summary>Runs the <c>dotnet</c> CLI as a child process, the way a user would from a shell.</summary>
internal static class DotNetCli
{
    public sealed record Result(int ExitCode, string Output);

    /// <summary>Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>; kills the process tree after <paramref name="timeout"/>.</summary>
    public static async Task<Result> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test host inherits MSBuild's variables from `dotnet test`; a child CLI must find its own. NUGET_PACKAGES
        // would override the sample's own restore folder, LOKI_URL its --url.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k is "NUGET_PACKAGES" or "LOKI_URL").ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        // No build servers left running after the test.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout}:\n{Text(output)}");
        }

        return new Result(process.ExitCode, Text(output));
    }

    /// <summary>Runs and asserts a zero exit code, showing the output otherwise.</summary>
    public static async Task<Result> RunCheckedAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var result = await RunAsync(workingDirectory, timeout, args);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited with {result.ExitCode}:\n{result.Output}");
        return result;
    }

    /// <summary>Appends a line of a child process's output (from its output events, on any thread).</summary>
    internal static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    /// <summary>What <see cref="Append"/> collected so far.</summary>
    internal static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
