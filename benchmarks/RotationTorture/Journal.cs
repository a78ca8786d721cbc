using System.Diagnostics;
using System.Globalization;

namespace Pipeline.RotationTorture;

/// <summary>
/// What the node and the run did, in order, with the time since the run started: rotations, copies, compressions,
/// deletions (each file with its inode and the ids it holds), kills and restarts. Kept in the run's work directory
/// (<c>journal.log</c>) to find where a lost or duplicated line went; a journal without a file records nothing, and
/// one disposed ignores what comes after.
/// </summary>
internal sealed class Journal : IDisposable
{
    private StreamWriter? _writer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();

    public Journal(string? path)
    {
        if (path is not null)
        {
            _writer = new StreamWriter(path, append: false) { AutoFlush = true };
        }
    }

    public void Write(string message)
    {
        if (_writer is null)
        {
            return;
        }

        lock (_lock)
        {
            _writer?.WriteLine($"{DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} +{_clock.Elapsed.TotalSeconds:F3}s {message}");
        }
    }

    /// <summary>A file's inode (as the agent logs it), or <c>-</c> when it is gone.</summary>
    public static string Inode(string path)
    {
        try
        {
            return Pipeline.Sources.Files.FileStat.TryStat(path, out var status) ? status.Identity.ToString() : "-";
        }
        catch (IOException)
        {
            return "-";
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer?.Dispose();
            _writer = null;
        }
    }
}
