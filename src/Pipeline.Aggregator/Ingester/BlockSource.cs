using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>A block that can be loaded for reading: in memory, in a chunk file, or a copy of a head block.</summary>
internal abstract class BlockSource
{
    protected BlockSource(long minTs, long maxTs)
    {
        MinTs = minTs;
        MaxTs = maxTs;
    }

    public long MinTs { get; }

    public long MaxTs { get; }

    public abstract BlockEntries? Load();
}

/// <summary>A block held in memory (its chunk file could not be written yet).</summary>
internal sealed class MemoryBlockSource(CompressedBlock block) : BlockSource(block.MinTs, block.MaxTs)
{
    public override BlockEntries Load() => BlockEntries.Parse(block.Decompress(), block.Count);
}

internal sealed class DecodedBlockSource(BlockEntries entries, long minTs, long maxTs) : BlockSource(minTs, maxTs)
{
    public override BlockEntries Load() => entries;
}

/// <summary>A block of a chunk file that is still being written: read through its writer, whose file may be renamed meanwhile.</summary>
internal sealed class OpenFileBlockSource(ChunkFileWriter file, BlockMeta block) : BlockSource(block.MinTs, block.MaxTs)
{
    public override BlockEntries? Load()
    {
        for (var attempt = 0; ; attempt++)
        {
            var path = file.Path;
            try
            {
                return BlockEntries.Parse(ChunkFile.ReadBlock(path, ChunkFileWriter.DataOffset, block), block.Count);
            }
            catch (FileNotFoundException) when (attempt == 0 && !ReferenceEquals(path, file.Path))
            {
                // Completed and renamed while we read: the next attempt reads it under its final name.
            }
            catch (FileNotFoundException)
            {
                return null; // Deleted by retention while the query ran.
            }
        }
    }
}

/// <summary>A block of a completed chunk file.</summary>
internal sealed class FileBlockSource(string path, long dataOffset, BlockMeta block, bool framed) : BlockSource(block.MinTs, block.MaxTs)
{
    public override BlockEntries? Load()
    {
        try
        {
            return BlockEntries.Parse(ChunkFile.ReadBlock(path, dataOffset, block, framed), block.Count);
        }
        catch (FileNotFoundException)
        {
            return null; // Deleted by retention while the query ran.
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
