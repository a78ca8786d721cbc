using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Storage;
using Pipeline.Aggregator.Wal;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// Stores durable WAL records in the streams' head blocks (from then on queries see them), cuts a full head into a
/// compressed block appended to its chunk's file, and closes a chunk that reached its target size for the flusher.
/// Over the memory limit it cuts the largest heads, so memory holds at most the limit plus one record.
/// </summary>
/// <remarks>Every method except <see cref="EnforceMemoryLimit"/> runs under the tenant's gate.</remarks>
internal sealed partial class HeadWriter
{
    private readonly IngesterState _state;
    private readonly ILogger _logger;

    public HeadWriter(IngesterState state, ILogger logger)
    {
        _state = state;
        _logger = logger;
    }

    /// <summary>
    /// Stores one durable record (version 2 payload). <paramref name="live"/> is what the appender kept of it: the record's
    /// streams in order and their entries uncompressed; on replay (<see langword="null"/>) streams are found by the labels
    /// in the record and sections decompressed, and records already in a flushed chunk are skipped.
    /// </summary>
    public void Apply(TenantState tenant, ReadOnlySpan<byte> payload, long sequence, LiveSections? live, ref AppendCounts counts)
    {
        var options = _state.Options;
        var now = _state.Time.GetUtcNow();
        var reader = new WalRecordReader(payload);
        var index = 0;
        while (reader.NextStream(out var labels, out var count, out var uncompressed, out var frame))
        {
            var stream = live is not null ? live.Streams[index] : IngesterState.GetOrCreateStream(tenant, WalRecordCodec.ReadLabels(labels));
            var section = live?.Section(index);
            var order = live?.Order(index);
            index++;
            if (count == 0 || (live is null && sequence <= stream.FlushedThroughSequence))
            {
                continue; // Nothing accepted, or (replay) already in a flushed chunk.
            }

            var entries = section ?? Decompress(tenant, frame, uncompressed);
            var chunk = stream.Current ??= new OpenChunk(sequence, now);
            if (chunk.Head.Count > 0 && chunk.Head.UncompressedBytes + uncompressed > options.BlockSize)
            {
                Cut(tenant, stream, chunk); // Blocks hold whole sections: start a new one rather than overfill this one.
            }

            var accepted = counts.Accepted;
            _state.AddMemory(chunk.Head.AppendSection(frame, entries.Span, count, ref counts, order));
            if (counts.Accepted == accepted)
            {
                continue; // All duplicates.
            }

            chunk.MinTs = Math.Min(chunk.MinTs, chunk.Head.MinTs);
            chunk.MaxTs = Math.Max(chunk.MaxTs, chunk.Head.MaxTs);
            stream.HighestTs = Math.Max(stream.HighestTs, chunk.Head.MaxTs);
            chunk.LastSequence = Math.Max(chunk.LastSequence, sequence);
            chunk.LastAppendAt = now;
            stream.LastAppendAt = now;
            if (chunk.Head.UncompressedBytes >= options.BlockSize)
            {
                Cut(tenant, stream, chunk);
            }

            if (chunk.FillBytes >= options.TargetChunkSize)
            {
                Close(tenant, stream);
                _state.RequestFlush();
            }
        }
    }

    /// <summary>Makes the head a block and appends it to the chunk's file (kept in memory when that fails).</summary>
    public void Cut(TenantState tenant, StreamState stream, OpenChunk chunk)
    {
        var head = chunk.Head;
        if (head.Count == 0)
        {
            _state.AddMemory(-head.SizeBytes);
            head.Clear();
            return;
        }

        var before = head.SizeBytes;
        var data = head.BlockData(tenant.Scratch, ref tenant.CompressScratch, out var uncompressedLength);
        var checksum = Checksum.Crc32C(data);
        var written = chunk.Unwritten.Count == 0 && TryAppendToFile(tenant, stream, chunk, data, uncompressedLength, head.MinTs, head.MaxTs, head.Count, checksum);
        if (!written)
        {
            chunk.Unwritten.Add(new CompressedBlock(data.ToArray(), uncompressedLength, head.MinTs, head.MaxTs, head.Count, checksum));
            chunk.UnwrittenBytes += data.Length;
            _state.AddMemory(data.Length);
        }

        chunk.CompressedBytes += data.Length;
        head.Clear();
        _state.AddMemory(-before);
    }

    /// <summary>Writes the blocks a failed write left in memory, in order; false while the file still cannot be written.</summary>
    public bool WriteUnwritten(TenantState tenant, StreamState stream, OpenChunk chunk)
    {
        while (chunk.Unwritten.Count > 0)
        {
            var block = chunk.Unwritten[0];
            if (!TryAppendToFile(tenant, stream, chunk, block.Data, block.UncompressedLength, block.MinTs, block.MaxTs, block.Count, block.Checksum))
            {
                return false;
            }

            chunk.Unwritten.RemoveAt(0);
            chunk.UnwrittenBytes -= block.Length;
            _state.AddMemory(-block.Length);
        }

        return true;
    }

    /// <summary>Ends the stream's current chunk: its head is cut, and the flusher completes and indexes it.</summary>
    public void Close(TenantState tenant, StreamState stream)
    {
        if (stream.Current is not { } chunk)
        {
            return;
        }

        Cut(tenant, stream, chunk);
        stream.Current = null;
        chunk.Head.Dispose();
        if (chunk.BlockCount > 0)
        {
            stream.Closed.Add(chunk);
        }
        else
        {
            chunk.File?.Abandon();
        }
    }

    /// <summary>Over the memory limit: cuts the largest heads until memory is under half the limit.</summary>
    public void EnforceMemoryLimit()
    {
        if (!_state.OverMemoryLimit)
        {
            return;
        }

        var heads = new List<(TenantState Tenant, StreamState Stream, long Bytes)>();
        foreach (var tenant in _state.Tenants)
        {
            lock (tenant.Gate)
            {
                foreach (var stream in tenant.Streams.Values)
                {
                    if (stream.Current is { Head.Count: > 0 } chunk)
                    {
                        heads.Add((tenant, stream, chunk.Head.SizeBytes));
                    }
                }
            }
        }

        heads.Sort(static (a, b) => b.Bytes.CompareTo(a.Bytes));
        var target = _state.Options.MemoryLimitBytes / 2;
        foreach (var (tenant, stream, _) in heads)
        {
            if (_state.MemoryBytes <= target)
            {
                break;
            }

            lock (tenant.Gate)
            {
                if (stream.Current is { } chunk)
                {
                    Cut(tenant, stream, chunk);
                }
            }
        }

        if (_state.OverMemoryLimit)
        {
            // What is left is blocks whose file could not be written: the flusher retries them, appends wait for it.
            LogMemoryPressure(_logger, _state.MemoryBytes, _state.Options.MemoryLimitBytes);
            _state.RequestFlush();
        }
    }

    private static ReadOnlyMemory<byte> Decompress(TenantState tenant, ReadOnlySpan<byte> frame, int uncompressed)
    {
        if (tenant.ReplayScratch.Length < uncompressed)
        {
            tenant.ReplayScratch = new byte[uncompressed];
        }

        CompressedBlock.DecompressInto(frame, tenant.ReplayScratch.AsSpan(0, uncompressed));
        return tenant.ReplayScratch.AsMemory(0, uncompressed);
    }

    private bool TryAppendToFile(TenantState tenant, StreamState stream, OpenChunk chunk, ReadOnlySpan<byte> compressed, int uncompressedLength, long minTs, long maxTs, int count, uint checksum)
    {
        try
        {
            _state.Options.ChunkBeforeWrite?.Invoke();
            chunk.File ??= _state.Store.Create(tenant.Id, stream.Labels, chunk.FirstSequence);
            chunk.File.Append(compressed, uncompressedLength, minTs, maxTs, count, checksum);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogBlockWriteFailed(_logger, tenant.Id, stream.Labels.ToString(), ex);
            return false;
        }
    }

    [LoggerMessage(30, LogLevel.Error, "Writing a block of tenant {Tenant}, stream {Stream} to its chunk file failed; it stays in memory and is retried")]
    private static partial void LogBlockWriteFailed(ILogger logger, string tenant, string stream, Exception exception);

    [LoggerMessage(31, LogLevel.Warning, "Ingester memory {Bytes} bytes is over the limit of {Limit} with blocks that could not be written; appends wait")]
    private static partial void LogMemoryPressure(ILogger logger, long bytes, long limit);
}
