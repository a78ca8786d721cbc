using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Runtime;

/// <summary>
/// One channel hop of a pooled chunk between two tasks (bounded, wait mode, as the runtime wires them):
/// the cost is per chunk, so per entry it is this divided by the entries in the chunk.
/// </summary>
[MemoryDiagnoser]
public class ChannelHandOffBenchmarks
{
    private const int Chunks = 10_000;
    private readonly EntryChunkPool _pool = new(EntryChunkPool.DefaultChunkCapacity);

    [Benchmark(OperationsPerInvoke = Chunks)]
    public async Task<long> HandOffChunk()
    {
        var channel = Channel.CreateBounded<EntryChunk>(new BoundedChannelOptions(8)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });

        var consumer = Task.Run(async () =>
        {
            long seen = 0;
            while (await channel.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var chunk))
                {
                    seen += chunk.Capacity;
                    chunk.Release();
                }
            }

            return seen;
        });

        for (var i = 0; i < Chunks; i++)
        {
            await channel.Writer.WriteAsync(_pool.Rent()).ConfigureAwait(false);
        }

        channel.Writer.Complete();
        return await consumer.ConfigureAwait(false);
    }
}
