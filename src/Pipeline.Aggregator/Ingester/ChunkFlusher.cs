using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// Ends the chunks that are due (older than <see cref="IngesterOptions.MaxChunkAge"/>, idle for
/// <see cref="IngesterOptions.ChunkIdlePeriod"/>, spanning more than the age in time, or all), completes their chunk files
/// (header, fsync, final name) and records them in the tenant's index; retries blocks whose write had failed. Then the
/// WAL checkpoint can drop what the chunks now hold.
/// </summary>
internal sealed partial class ChunkFlusher
{
    private readonly IngesterState _state;
    private readonly HeadWriter _heads;
    private readonly ILogger _logger;
    private readonly long _maxChunkAgeNs;

    public ChunkFlusher(IngesterState state, HeadWriter heads, ILogger logger)
    {
        _state = state;
        _heads = heads;
        _logger = logger;
        _maxChunkAgeNs = state.Options.MaxChunkAge.Ticks * 100;
    }

    /// <summary>Flushes what is due (or everything); returns the number of chunks indexed.</summary>
    public int Flush(bool all)
    {
        var options = _state.Options;
        var now = _state.Time.GetUtcNow();
        var written = 0;
        foreach (var tenant in _state.Tenants)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    if (stream.Current is { } chunk &&
                        (all ||
                         now - chunk.CreatedAt >= options.MaxChunkAge ||
                         now - chunk.LastAppendAt >= options.ChunkIdlePeriod ||
                         chunk.MaxTs - chunk.MinTs >= _maxChunkAgeNs))
                    {
                        _heads.Close(tenant, stream);
                    }
                    else if (stream.Current is { Unwritten.Count: > 0 } open)
                    {
                        _heads.WriteUnwritten(tenant, stream, open);
                    }
                }
            }

            written += FlushTenant(tenant, now);
        }

        _state.SignalReleased();
        return written;
    }

    private int FlushTenant(TenantState tenant, DateTimeOffset now)
    {
        var work = new List<(StreamState Stream, OpenChunk Chunk)>();
        lock (tenant.Gate)
        {
            foreach (var stream in tenant.Streams.Values)
            {
                foreach (var chunk in stream.Closed)
                {
                    // A stream's chunks are indexed in order: its flushed-through sequence must not skip one.
                    if (!_heads.WriteUnwritten(tenant, stream, chunk))
                    {
                        break;
                    }

                    work.Add((stream, chunk));
                }
            }
        }

        if (work.Count == 0)
        {
            return 0;
        }

        var done = new List<(StreamState Stream, OpenChunk Chunk)>(work.Count);
        HashSet<StreamState>? failed = null;
        foreach (var (stream, chunk) in work)
        {
            if (failed?.Contains(stream) == true)
            {
                continue;
            }

            try
            {
                // Closed chunks take no more appends: their file is completed outside the gate.
                var chunkRef = _state.Store.Complete(tenant.Id, stream.Labels, chunk.File!, tenant.FlushScratch);
                tenant.Index.Add(stream.Labels, chunkRef, chunk.LastSequence);
                done.Add((stream, chunk));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (failed ??= []).Add(stream);
                LogFlushFailed(_logger, tenant.Id, stream.Labels.ToString(), ex);
            }
        }

        tenant.Index.Sync();
        lock (tenant.Gate)
        {
            foreach (var (stream, chunk) in done)
            {
                stream.Closed.Remove(chunk);
                stream.FlushedThroughSequence = Math.Max(stream.FlushedThroughSequence, chunk.LastSequence);
                if (stream.IsEmpty && now - stream.LastAppendAt >= _state.Options.ChunkIdlePeriod)
                {
                    tenant.Streams.Remove(stream.Labels);
                }
            }
        }

        return done.Count;
    }

    [LoggerMessage(20, LogLevel.Error, "Flushing chunks of tenant {Tenant}, stream {Stream} failed; they stay open and are retried")]
    private static partial void LogFlushFailed(ILogger logger, string tenant, string stream, Exception exception);
}
