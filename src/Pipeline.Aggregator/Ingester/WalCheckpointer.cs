using Pipeline.Aggregator.Wal;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// Deletes the WAL segments whose records are all in indexed chunks: everything below the oldest sequence that some
/// stream still holds in memory or in a chunk file not yet complete.
/// </summary>
internal sealed class WalCheckpointer(IngesterState state, WriteAheadLog wal)
{
    public void Checkpoint()
    {
        // Read the next sequence first: a record applied while we scan has a sequence at least this large.
        var next = wal.NextSequence;
        var min = next;
        foreach (var tenant in state.Tenants)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    min = Math.Min(min, stream.MinUnflushedSequence);
                }
            }
        }

        if (min == next)
        {
            wal.Rotate(); // Everything is flushed: close the current segment so that it can go too.
        }

        wal.DeleteSegmentsBefore(min);
    }
}
