using System.IO.Compression;
using System.IO.Pipelines;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Sources.Files;

/// <summary>
/// One generation of a target being read: its identity, handle, splitter (read position) and acknowledgement
/// tracker. The target's current file, or a rotated, copied or compressed generation read to its end.
/// </summary>
/// <remarks>
/// The source's loop owns it. The fields a positions write reads from another thread (<see cref="Path"/>,
/// <see cref="Identity"/>, <see cref="Fingerprint"/>, <see cref="Tracker"/>, <see cref="Finishing"/>,
/// <see cref="SeenAt"/>, <see cref="Compressed"/>) change only under the source's state lock.
/// </remarks>
internal sealed class TailedFile
{
    private long _knownSize = -1;
    private long _lastTracked;
    private AckTracker? _tracker;

    /// <summary>1 while a positions-write watch on this file's commits is armed (see <see cref="PositionsWriter.WriteWhenCommitted"/>).</summary>
    public int WatchArmed;

    public TailedFile(string path, FileIdentity identity, LabelSet labels, TargetLineage lineage, LineSplitter splitter, DateTimeOffset now)
    {
        Path = path;
        Identity = identity;
        Labels = labels;
        Lineage = lineage;
        Splitter = splitter;
        LastActivity = now;
        SeenAt = path;
    }

    /// <summary>The target path (the <c>filename</c> label), also once the file was rotated away from it.</summary>
    public string Path { get; set; }

    /// <summary>Device and inode of the file read (of the <c>.gz</c>, for a compressed generation).</summary>
    public FileIdentity Identity { get; set; }

    public LabelSet Labels { get; set; }

    /// <summary>The target's generations, which are read oldest first.</summary>
    public TargetLineage Lineage { get; }

    /// <summary>Where the file is now, as far as the last scan saw: the target path, a rotated name, or <see langword="null"/> when it is gone from every name.</summary>
    public string? SeenAt { get; set; }

    /// <summary>Whether this is a gzip-compressed generation (read through <see cref="Gzip"/>).</summary>
    public bool Compressed { get; set; }

    public LineSplitter Splitter { get; set; }

    public AckTracker Tracker
    {
        get => Volatile.Read(ref _tracker!);
        private set => Volatile.Write(ref _tracker, value);
    }

    /// <summary>The handle: the file itself, or the compressed file under <see cref="Gzip"/>.</summary>
    public FileStream? Stream { get; set; }

    /// <summary>The decompressing view of a compressed generation, positioned where <see cref="GzipReader"/> reads on.</summary>
    public GZipStream? Gzip { get; set; }

    /// <summary>The reader over <see cref="Gzip"/>, kept across turns (a decompressor cannot seek back).</summary>
    public PipeReader? GzipReader { get; set; }

    /// <summary>The size and modification time of a compressed file whose content looked cut short, to accept it once it stops changing.</summary>
    public (long Size, long ModifiedNs)? GzipShort { get; set; }

    public FileFingerprint Fingerprint { get; set; }

    /// <summary>The first bytes read from the file (up to <see cref="FileFingerprint.Size"/>), which its fingerprint is of while it is short.</summary>
    public byte[] Head { get; } = new byte[FileFingerprint.Size];

    /// <summary>How many bytes of <see cref="Head"/> are known.</summary>
    public int HeadLength { get; set; }

    public long LastSize { get; set; } = -1;

    public long LastModified { get; set; } = -1;

    /// <summary>The largest size seen (uncompressed), for what a file deleted before it was read took with it; read by the positions writer.</summary>
    public long KnownSize
    {
        get => Volatile.Read(ref _knownSize);
        set => Volatile.Write(ref _knownSize, value);
    }

    public DateTimeOffset LastActivity { get; set; }

    /// <summary>Rotated, copied, deleted or compressed: read to its end, then released.</summary>
    public bool Finishing { get; set; }

    public bool Released { get; set; }

    /// <summary>A turn of it is in progress (its handle must not be closed by an eviction meanwhile).</summary>
    public bool Reading { get; set; }

    public long ReportedDropped { get; set; }

    /// <summary>The position it started at in this run.</summary>
    public long StartPosition { get; private set; }

    /// <summary>The position of the last line given a token (read by the positions writer's watch).</summary>
    public long LastTracked
    {
        get => Volatile.Read(ref _lastTracked);
        set => Volatile.Write(ref _lastTracked, value);
    }

    /// <summary>The watch the positions writer keeps for this file.</summary>
    public PositionsWriter.CommitWatch? Watch { get; set; }

    /// <summary>The position of the last line handed downstream (what shutdown waits to see acknowledged).</summary>
    public long LastEmitted { get; set; }

    public bool InChunk { get; set; }

    /// <summary>Whether it has read anything in this run (a generation found later is not put before it).</summary>
    public bool HasStarted => Splitter.Position > StartPosition;

    /// <summary>Whether every line read from it is acknowledged.</summary>
    public bool IsSettled => Tracker.CommittedPosition >= LastTracked;

    public void Restart(long position, AckTracker tracker)
    {
        Splitter.Reset(position);
        Tracker = tracker;
        StartPosition = position;
        LastTracked = position;
        LastEmitted = position;
        ReportedDropped = Splitter.DroppedLines;
        if (KnownSize < position)
        {
            KnownSize = position;
        }
    }

    /// <summary>Takes over another file's splitter and tracker: the rest of a copied file continues the original's positions.</summary>
    public void Continue(TailedFile original)
    {
        Splitter = original.Splitter;
        Tracker = original.Tracker;
        StartPosition = Splitter.Position;
        LastTracked = original.LastTracked;
        LastEmitted = original.LastEmitted;
        ReportedDropped = original.ReportedDropped;
        KnownSize = Splitter.Position;
    }

    /// <summary>Its entry in the positions file, as of now.</summary>
    public PositionEntry ToEntry() =>
        new(Path, Tracker.CommittedPosition, Identity, Fingerprint, KnownSize, Rotated: Finishing, Finishing ? SeenAt : null);
}
