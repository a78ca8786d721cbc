using Pipeline.Loki.Protocol;
using System.Globalization;
using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>A flushed chunk as the index knows it.</summary>
internal readonly record struct ChunkRef(long MinTs, long MaxTs, int Entries, long Size, uint Checksum);

/// <summary>
/// Chunk files on local disk: <c>&lt;root&gt;/&lt;tenant&gt;/chunks/&lt;fingerprint&gt;/&lt;minTs&gt;-&lt;maxTs&gt;-&lt;checksum&gt;.chunk</c>.
/// Every path is built from a validated tenant ID and checked to stay inside the root.
/// </summary>
internal sealed class ChunkStore
{
    private readonly string _root;

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

    public ChunkRef Write(string tenant, LabelSet labels, IReadOnlyList<CompressedBlock> blocks)
    {
        var directory = StreamDirectory(tenant, labels.Fingerprint);
        Directory.CreateDirectory(directory);
        long minTs = long.MaxValue, maxTs = long.MinValue;
        foreach (var block in blocks)
        {
            minTs = Math.Min(minTs, block.MinTs);
            maxTs = Math.Max(maxTs, block.MaxTs);
        }

        // The checksum in the name is only known after writing; write under a provisional name, then rename.
        var provisional = Path.Combine(directory, ChunkFile.FileName(minTs, maxTs, 0) + ".new");
        var header = ChunkFile.Write(provisional, labels, blocks);
        var chunk = new ChunkRef(header.MinTs, header.MaxTs, header.Entries, new FileInfo(provisional).Length, header.Checksum);
        File.Move(provisional, ChunkPath(tenant, labels.Fingerprint, chunk), overwrite: true);
        return chunk;
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
