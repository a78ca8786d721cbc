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

/// <summary>A block in memory, held (<see cref="CompressedBlock.TryAcquire"/>) until it is loaded.</summary>
internal sealed class MemoryBlockSource(CompressedBlock block) : BlockSource(block.MinTs, block.MaxTs)
{
    public override BlockEntries Load()
    {
        try
        {
            return BlockEntries.Parse(block.Decompress(), block.Count);
        }
        finally
        {
            block.Release();
        }
    }
}

internal sealed class DecodedBlockSource(BlockEntries entries, long minTs, long maxTs) : BlockSource(minTs, maxTs)
{
    public override BlockEntries Load() => entries;
}

internal sealed class FileBlockSource(string path, long dataOffset, BlockMeta block) : BlockSource(block.MinTs, block.MaxTs)
{
    public override BlockEntries? Load()
    {
        try
        {
            return BlockEntries.Parse(ChunkFile.ReadBlock(path, dataOffset, block), block.Count);
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
