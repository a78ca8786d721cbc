using System.Diagnostics;

namespace Pipeline.TestSupport;

/// <summary>The real Loki clients in tests/Interop.Tests/node-loki-clients (winston-loki, pino-loki), when node and their packages are there.</summary>
internal static class NodeLokiClients
{
    /// <summary>The clients' folder when node is on PATH and <c>npm ci</c> has run there; otherwise <see langword="null"/> and why in <paramref name="missing"/>.</summary>
    public static string? Find(out string missing)
    {
        string? folder = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && folder is null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Interop.Tests", "node-loki-clients");
            if (Directory.Exists(candidate))
            {
                folder = candidate;
            }
        }

        if (folder is null || !Directory.Exists(Path.Combine(folder, "node_modules")) || !HasNode())
        {
            missing = $"needs node on PATH and `npm ci` in tests/Interop.Tests/node-loki-clients (found folder: {folder ?? "none"})";
            return null;
        }

        missing = string.Empty;
        return folder;
    }

    private static bool HasNode()
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true });
            node?.WaitForExit(10_000);
            return node is { ExitCode: 0 };
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
