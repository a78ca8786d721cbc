using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Pipeline.RotationTorture;

/// <summary>How a <see cref="NodeWriter"/> rotates its files.</summary>
internal enum RotationMode
{
    /// <summary>The kubelet's: rename <c>0.log</c> to <c>0.log.&lt;timestamp&gt;</c>, start a new one, compress all but the newest rotated file, keep at most a few.</summary>
    Rename,

    /// <summary>logrotate's <c>copytruncate</c> with <c>compress</c> and <c>delaycompress</c>: copy to <c>.1</c>, cut the file to 0, shift and compress older copies.</summary>
    CopyTruncate,
}

/// <summary>Settings of a <see cref="NodeWriter"/>.</summary>
internal sealed record NodeWriterOptions(string Root, int Pods, int LinesPerPod, int LinesPerSecond, long RotateBytes, RotationMode Mode, int MaxFiles = 5);

/// <summary>
/// Plays a node's pods and their log rotation: each pod writes numbered CRI lines (<c>&lt;pod&gt;:&lt;id&gt;</c>) at a
/// steady rate, and its file is rotated once it reaches the rotation size, the way the kubelet or logrotate do it.
/// The writer is a normal one: it appends, so after a copytruncate it goes on at the new end.
/// </summary>
internal sealed class NodeWriter
{
    private static readonly DateTime s_epoch = new(2026, 11, 26, 10, 0, 0, DateTimeKind.Utc);
    private readonly NodeWriterOptions _options;
    private readonly Pod[] _pods;
    private readonly Lock _waitLock = new();
    private readonly List<(int Rotations, TaskCompletionSource Signal)> _waiters = [];
    private int _rotations;
    private long _written;

    private readonly Journal _journal;

    public NodeWriter(NodeWriterOptions options, Journal? journal = null)
    {
        _options = options;
        _journal = journal ?? new Journal(null);
        _pods = new Pod[options.Pods];
        for (var i = 0; i < options.Pods; i++)
        {
            var path = options.Mode == RotationMode.Rename
                ? Path.Combine(options.Root, "var", "log", "pods", $"shop_pod{i}_uid-{i}", "app", "0.log")
                : Path.Combine(options.Root, "var", "log", "app", $"pod{i}.log");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            _pods[i] = new Pod(i, path);
            _journal.Write($"pod{i}: {path} ({Journal.Inode(path)}) created");
        }
    }

    /// <summary>The glob that matches the pods' files (the agent's <c>__path__</c>).</summary>
    public string Glob => _options.Mode == RotationMode.Rename
        ? Path.Combine(_options.Root, "var", "log", "pods", "*", "*", "*.log")
        : Path.Combine(_options.Root, "var", "log", "app", "*.log");

    /// <summary>How many lines were written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>About how many lines one generation holds.</summary>
    public long LinesPerGeneration => _options.RotateBytes / Line(0, 1).Length;

    /// <summary>How many rotations happened so far (all pods).</summary>
    public int Rotations => Volatile.Read(ref _rotations);

    /// <summary>How many generations were deleted by the rotation's file limit.</summary>
    public int Deleted { get; private set; }

    /// <summary>Completes once <paramref name="rotations"/> rotations (all pods together) have happened.</summary>
    public Task WhenRotations(int rotations)
    {
        lock (_waitLock)
        {
            if (_rotations >= rotations)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((rotations, signal));
            return signal.Task;
        }
    }

    /// <summary>Writes every pod's lines at the configured rate, rotating as it goes; completes when all are written.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        const int TicksPerSecond = 50;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / TicksPerSecond));
        var perTick = Math.Max(1, _options.LinesPerSecond / TicksPerSecond);
        var text = new StringBuilder();
        try
        {
            while (_pods.Any(p => p.Next <= _options.LinesPerPod))
            {
                foreach (var pod in _pods)
                {
                    var last = Math.Min(_options.LinesPerPod, pod.Next + perTick - 1);
                    if (pod.Next > last)
                    {
                        continue;
                    }

                    text.Clear();
                    for (; pod.Next <= last; pod.Next++)
                    {
                        AppendLine(text, pod.Index, pod.Next);
                    }

                    var bytes = Encoding.UTF8.GetBytes(text.ToString());
                    pod.Writer.Write(bytes);
                    pod.Size += bytes.Length;
                    if (pod.Size >= _options.RotateBytes)
                    {
                        Rotate(pod);
                    }
                }

                Interlocked.Exchange(ref _written, _pods.Sum(p => (long)p.Next - 1));
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var pod in _pods)
            {
                pod.Writer.Dispose();
            }
        }
    }

    private static void AppendLine(StringBuilder text, int pod, int id)
    {
        // CRI: timestamp, stream, tag, then the content the receiver reads the id from.
        var stamp = DateTime.UtcNow;
        text.Append(stamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("00Z stdout F ")
            .Append(pod).Append(':').Append(id.ToString("D9", CultureInfo.InvariantCulture))
            .Append(" level=info msg=\"request served\" path=/api/orders status=200 duration_ms=")
            .Append(id % 997).Append('\n');
    }

    private void Rotate(Pod pod)
    {
        var number = Interlocked.Increment(ref _rotations);
        if (_options.Mode == RotationMode.Rename)
        {
            RotateLikeKubelet(pod, number);
        }
        else
        {
            CopyTruncateLikeLogrotate(pod);
        }

        pod.Size = 0;
        List<TaskCompletionSource>? done = null;
        lock (_waitLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Rotations <= number)
                {
                    (done ??= []).Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(s => s.TrySetResult());
    }

    private void RotateLikeKubelet(Pod pod, int number)
    {
        // Timestamps one second apart per rotation: unique and in order, as the kubelet's are.
        var rotated = $"{pod.Path}.{s_epoch.AddSeconds(number).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}";
        File.Move(pod.Path, rotated);

        // The runtime keeps writing to the renamed file until it reopens the log.
        if (pod.Next <= _options.LinesPerPod)
        {
            pod.Writer.Write(Encoding.UTF8.GetBytes(Line(pod.Index, pod.Next++)));
        }

        pod.Writer.Dispose();
        _journal.Write($"pod{pod.Index}: renamed to {Path.GetFileName(rotated)} ({Journal.Inode(rotated)}) holding ids {pod.FirstId}-{pod.Next - 1}");
        pod.FirstId = pod.Next;
        pod.Writer = Pod.Open(pod.Path);
        _journal.Write($"pod{pod.Index}: new {Path.GetFileName(pod.Path)} ({Journal.Inode(pod.Path)}) from id {pod.FirstId}");

        var directory = Path.GetDirectoryName(pod.Path)!;
        var name = Path.GetFileName(pod.Path);
        var rotatedNames = Directory.GetFiles(directory).Where(f => Path.GetFileName(f).StartsWith(name + ".", StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal)).ToList();
        var plain = rotatedNames.Where(f => !f.EndsWith(".gz", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        foreach (var old in plain.Take(plain.Count - 1))
        {
            using (var input = File.OpenRead(old))
            using (var output = new GZipStream(File.Create(old + ".gz.tmp"), CompressionLevel.Fastest))
            {
                input.CopyTo(output);
            }

            File.Move(old + ".gz.tmp", old + ".gz");
            var inode = Journal.Inode(old);
            File.Delete(old);
            _journal.Write($"pod{pod.Index}: compressed {Path.GetFileName(old)} ({inode}) to {Path.GetFileName(old)}.gz ({Journal.Inode(old + ".gz")}), deleted the plain file");
        }

        var rotatedFiles = Directory.GetFiles(directory).Where(f => Path.GetFileName(f).StartsWith(name + ".", StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        foreach (var excess in rotatedFiles.Take(Math.Max(0, rotatedFiles.Count - (_options.MaxFiles - 1))))
        {
            var inode = Journal.Inode(excess);
            File.Delete(excess);
            Deleted++;
            _journal.Write($"pod{pod.Index}: deleted {Path.GetFileName(excess)} ({inode}) (file limit)");
        }
    }

    private void CopyTruncateLikeLogrotate(Pod pod)
    {
        var keep = _options.MaxFiles - 1;
        string Numbered(int n, bool gz) => $"{pod.Path}.{n}{(gz ? ".gz" : string.Empty)}";
        string Name(string path) => $"{Path.GetFileName(path)} ({Journal.Inode(path)})";
        if (File.Exists(Numbered(keep, true)))
        {
            var deleted = Name(Numbered(keep, true));
            File.Delete(Numbered(keep, true));
            Deleted++;
            _journal.Write($"pod{pod.Index}: deleted {deleted} (file limit)");
        }

        for (var n = keep - 1; n >= 2; n--)
        {
            if (File.Exists(Numbered(n, true)))
            {
                File.Move(Numbered(n, true), Numbered(n + 1, true));
                _journal.Write($"pod{pod.Index}: renamed {Path.GetFileName(Numbered(n, true))} to {Name(Numbered(n + 1, true))}");
            }
        }

        if (File.Exists(Numbered(1, false)))
        {
            // delaycompress: the previous copy is compressed one rotation later, in place (as gzip writes it).
            var plain = Name(Numbered(1, false));
            using (var input = File.OpenRead(Numbered(1, false)))
            using (var output = new GZipStream(File.Create(Numbered(2, true)), CompressionLevel.Fastest))
            {
                input.CopyTo(output);
            }

            File.Delete(Numbered(1, false));
            _journal.Write($"pod{pod.Index}: compressed {plain} to {Name(Numbered(2, true))}, deleted the plain file");
        }

        File.Copy(pod.Path, Numbered(1, false));
        _journal.Write($"pod{pod.Index}: copied {Name(pod.Path)} to {Name(Numbered(1, false))} holding ids {pod.FirstId}-{pod.Next - 1}");
        using (var truncate = new FileStream(pod.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            truncate.SetLength(0);
        }

        _journal.Write($"pod{pod.Index}: truncated {Name(pod.Path)}, new content from id {pod.Next}");
        pod.FirstId = pod.Next;

        // A normal writer appends (O_APPEND): its next write lands at the new end, not at its old offset.
        pod.Writer.Dispose();
        pod.Writer = Pod.Open(pod.Path);
    }

    private static string Line(int pod, int id)
    {
        var text = new StringBuilder();
        AppendLine(text, pod, id);
        return text.ToString();
    }

    private sealed class Pod(int index, string path)
    {
        public int Index { get; } = index;

        public string Path { get; } = path;

        public FileStream Writer { get; set; } = Open(path);

        public int Next { get; set; } = 1;

        /// <summary>The first id in the current file (for the journal).</summary>
        public int FirstId { get; set; } = 1;

        public long Size { get; set; }

        public static FileStream Open(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
    }
}
