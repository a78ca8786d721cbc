using Microsoft.Win32.SafeHandles;
using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// A chunk file being written: each block is appended as soon as it is cut (so compressed blocks wait in the page cache,
/// not in the process), and <see cref="Complete"/> appends the header, forces the file to disk and renames it to its
/// final name. Until then the file has a provisional name and is not in the index: after a crash it is deleted and its
/// entries come back from the WAL.
/// </summary>
/// <remarks>Appends and completion are serialized by the owner (the stream's tenant gate, then the flusher); readers only
/// read <see cref="Path"/> and blocks already appended.</remarks>
internal sealed class ChunkFileWriter
{
    /// <summary>The suffix of a chunk file that was not completed.</summary>
    public const string ProvisionalExtension = ".open";

    private readonly System.IO.Hashing.Crc32 _crc = new(System.IO.Hashing.Crc32ParameterSet.Crc32C);
    private readonly List<BlockMeta> _blocks = [];
    private SafeFileHandle? _handle;
    private volatile string _path;
    private long _length;

    private ChunkFileWriter(string path, SafeFileHandle handle)
    {
        _path = path;
        _handle = handle;
        RandomAccess.Write(handle, ChunkFile.MagicV2, 0);
        _length = ChunkFile.MagicV2.Length;
    }

    /// <summary>Where the file is now: the provisional name while it is written, the final one once complete.</summary>
    public string Path => _path;

    /// <summary>The blocks appended so far.</summary>
    public IReadOnlyList<BlockMeta> Blocks => _blocks;

    /// <summary>Compressed bytes appended so far.</summary>
    public long DataBytes => _length - ChunkFile.MagicV2.Length;

    /// <summary>Where the block data starts (block offsets count from here).</summary>
    public static long DataOffset => ChunkFile.MagicV2.Length;

    public static ChunkFileWriter Create(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, name + ProvisionalExtension);
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            return new ChunkFileWriter(path, handle);
        }
        catch
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Appends one compressed block; throws <see cref="IOException"/> when it cannot be written (nothing is recorded then).</summary>
    public BlockMeta Append(ReadOnlySpan<byte> compressed, int uncompressedLength, long minTs, long maxTs, int count, uint checksum)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(ChunkFileWriter), "the chunk file is already complete");
        RandomAccess.Write(handle, compressed, _length);
        var block = new BlockMeta(_length - ChunkFile.MagicV2.Length, compressed.Length, uncompressedLength, minTs, maxTs, count, checksum);
        _length += compressed.Length;
        _crc.Append(compressed);
        _blocks.Add(block);
        return block;
    }

    /// <summary>Appends the header and trailer, forces the file to disk and closes it (see <see cref="MoveTo"/>).</summary>
    public ChunkHeader Complete(LabelSet labels, ByteBuffer scratch)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(ChunkFileWriter), "the chunk file is already complete");
        long minTs = long.MaxValue, maxTs = long.MinValue;
        var entries = 0;
        foreach (var block in _blocks)
        {
            minTs = Math.Min(minTs, block.MinTs);
            maxTs = Math.Max(maxTs, block.MaxTs);
            entries += block.Count;
        }

        var header = new ChunkHeader(labels, minTs, maxTs, entries, _crc.GetCurrentHashAsUInt32(), [.. _blocks]);
        scratch.Clear();
        ChunkFile.WriteHeaderAndTrailer(scratch, header, _length);
        RandomAccess.Write(handle, scratch.WrittenSpan, _length);
        _length += scratch.Length;
        RandomAccess.FlushToDisk(handle);
        handle.Dispose();
        _handle = null;
        return header;
    }

    /// <summary>Gives the completed file its final name (readers that still hold the old one retry with <see cref="Path"/>).</summary>
    public void MoveTo(string finalPath)
    {
        File.Move(_path, finalPath, overwrite: true);
        _path = finalPath;
    }

    /// <summary>The file's length once complete (header and trailer included).</summary>
    public long Length => _length;

    /// <summary>Closes an incomplete file, leaving it for the next open to delete (the ingester stops without flushing).</summary>
    public void Close()
    {
        _handle?.Dispose();
        _handle = null;
    }

    /// <summary>Closes and deletes an incomplete file (its entries are still in the WAL).</summary>
    public void Abandon()
    {
        _handle?.Dispose();
        _handle = null;
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Deleted on the next open.
        }
    }
}
