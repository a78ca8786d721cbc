using Pipeline.Loki.Protocol;
using System.Globalization;
using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>A flushed chunk as the index knows it; <paramref name="UncompressedBytes"/> (its entries' bytes, for index statistics) is 0 in index records written before it was kept.</summary>
internal readonly record struct ChunkRef(long MinTs, long MaxTs, int Entries, long Size, uint Checksum, long UncompressedBytes = 0);

/// <summary>
/// Chunk files on local disk: <c>&lt;root&gt;/&lt;tenant&gt;/chunks/&lt;fingerprint&gt;/&lt;minTs&gt;-&lt;maxTs&gt;-&lt;checksum&gt;.chunk</c>.
/// Every path is built from a validated tenant ID and checked to stay inside the root.
/// </summary>
internal sealed class ChunkStore
{
    private readonly string _root;
    private int _created;

    public ChunkStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public string TenantDirectory(string tenant)
    {
        LokiTenant.Validate(tenant);
        var path = Path.GetFullPath(Path.Combine(_root, tenant));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"tenant ID '{tenant}' would leave the data folder", nameof(tenant));
        }

        return path;
    }

    public string StreamDirectory(string tenant, ulong fingerprint) =>
        Path.Combine(TenantDirectory(tenant), "chunks", fingerprint.ToString("x16", CultureInfo.InvariantCulture));

    public string ChunkPath(string tenant, ulong fingerprint, ChunkRef chunk) =>
        Path.Combine(StreamDirectory(tenant, fingerprint), ChunkFile.FileName(chunk.MinTs, chunk.MaxTs, chunk.Checksum));

    /// <summary>Starts the chunk file of a stream's new chunk, under a provisional name.</summary>
    public ChunkFileWriter Create(string tenant, LabelSet labels, long firstSequence) =>
        ChunkFileWriter.Create(
            StreamDirectory(tenant, labels.Fingerprint),
            string.Create(CultureInfo.InvariantCulture, $"{firstSequence:x16}-{Interlocked.Increment(ref _created):x8}"));

    /// <summary>Completes a chunk file (header, fsync, final name) and returns what the index records of it.</summary>
    public ChunkRef Complete(string tenant, LabelSet labels, ChunkFileWriter writer, ByteBuffer scratch)
    {
        var header = writer.Complete(labels, scratch);
        long uncompressed = 0;
        foreach (var block in header.Blocks)
        {
            uncompressed += block.UncompressedLength;
        }

        var chunk = new ChunkRef(header.MinTs, header.MaxTs, header.Entries, writer.Length, header.Checksum, uncompressed);
        writer.MoveTo(ChunkPath(tenant, labels.Fingerprint, chunk));
        return chunk;
    }

    /// <summary>Deletes the chunk files that were never completed (a crash while they were open); the WAL still has their entries.</summary>
    public int DeleteProvisional()
    {
        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(_root, "*" + ChunkFileWriter.ProvisionalExtension, SearchOption.AllDirectories))
        {
            File.Delete(file);
            deleted++;
        }

        return deleted;
    }

    public void Delete(string tenant, ulong fingerprint, ChunkRef chunk)
    {
        var path = ChunkPath(tenant, fingerprint, chunk);
        File.Delete(path);
        var directory = Path.GetDirectoryName(path)!;
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }

    public IEnumerable<string> Tenants()
    {
        foreach (var directory in Directory.EnumerateDirectories(_root))
        {
            var name = Path.GetFileName(directory);
            if (LokiTenant.IsValid(name, out _))
            {
                yield return name;
            }
        }
    }
}
