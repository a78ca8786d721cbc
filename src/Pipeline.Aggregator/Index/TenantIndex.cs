using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Index;

/// <summary>A stream as the index knows it: its labels, its flushed chunks by time, and how far its WAL records are flushed.</summary>
internal sealed class IndexedStream
{
    public IndexedStream(LabelSet labels)
    {
        Labels = labels;
    }

    public LabelSet Labels { get; }

    /// <summary>Flushed chunks, sorted by <see cref="ChunkRef.MinTs"/>.</summary>
    public List<ChunkRef> Chunks { get; } = [];

    /// <summary>Every entry of this stream from WAL records up to this sequence is in a flushed chunk.</summary>
    public long FlushedThroughSequence { get; set; } = -1;

    public long MinTs => Chunks.Count == 0 ? long.MaxValue : Chunks[0].MinTs;

    public long MaxTs
    {
        get
        {
            var max = long.MinValue;
            foreach (var chunk in Chunks)
            {
                max = Math.Max(max, chunk.MaxTs);
            }

            return max;
        }
    }
}

/// <summary>
/// A tenant's label index: label name -> values -> streams -> chunks by time, persisted as an append-only log of framed,
/// CRC-checked records (<c>&lt;tenant&gt;/index/index.log</c>) and rebuilt from it on open. A torn tail is cut.
/// </summary>
internal sealed partial class TenantIndex : IDisposable
{
    private const byte AddChunk = 1;
    private const byte RemoveChunk = 2;
    private const int MaxRecord = 16 << 20;

    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly Dictionary<LabelSet, IndexedStream> _streams = [];
    private readonly Dictionary<string, Dictionary<string, HashSet<IndexedStream>>> _postings = new(StringComparer.Ordinal);
    private readonly ByteBuffer _buffer = new(1024);
    private SafeFileHandle _handle;
    private long _offset;
    private bool _dirty;
    private int _removed;

    private TenantIndex(string path, SafeFileHandle handle, long offset)
    {
        _path = path;
        _handle = handle;
        _offset = offset;
    }

    public int StreamCount
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    public static TenantIndex Open(string tenantDirectory, ILogger logger)
    {
        var directory = Path.Combine(tenantDirectory, "index");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "index.log");
        var records = new List<byte[]>();
        long good = 0;
        if (File.Exists(path))
        {
            using var reader = new FramedRecordReader(path, 0, MaxRecord);
            while (true)
            {
                var status = reader.Next(out var error);
                if (status == FrameStatus.End)
                {
                    break;
                }

                if (status != FrameStatus.Record)
                {
                    LogIndexCut(logger, path, reader.GoodOffset, error!);
                    break;
                }

                records.Add(reader.Payload.ToArray());
            }

            good = reader.GoodOffset;
        }

        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        if (RandomAccess.GetLength(handle) != good)
        {
            RandomAccess.SetLength(handle, good);
        }

        var index = new TenantIndex(path, handle, good);
        foreach (var record in records)
        {
            try
            {
                index.Apply(record);
            }
            catch (InvalidDataException ex)
            {
                LogIndexCut(logger, path, -1, ex.Message);
            }
        }

        return index;
    }

    /// <summary>Records a flushed chunk (appended to the log; durable after <see cref="Sync"/>).</summary>
    public void Add(LabelSet labels, ChunkRef chunk, long flushedThroughSequence)
    {
        lock (_lock)
        {
            _buffer.Clear();
            var frame = RecordFraming.BeginFrame(_buffer);
            _buffer.WriteByte(AddChunk);
            WriteLabels(_buffer, labels);
            WriteChunk(_buffer, chunk);
            _buffer.WriteInt64(flushedThroughSequence);
            _buffer.WriteVarint((ulong)chunk.UncompressedBytes);
            RecordFraming.EndFrame(_buffer, frame);
            Append();
            AddLocked(labels, chunk, flushedThroughSequence);
        }
    }

    /// <summary>Records a deleted chunk.</summary>
    public void Remove(LabelSet labels, ChunkRef chunk)
    {
        lock (_lock)
        {
            _buffer.Clear();
            var frame = RecordFraming.BeginFrame(_buffer);
            _buffer.WriteByte(RemoveChunk);
            WriteLabels(_buffer, labels);
            WriteChunk(_buffer, chunk);
            _buffer.WriteVarint((ulong)chunk.UncompressedBytes);
            RecordFraming.EndFrame(_buffer, frame);
            Append();
            RemoveLocked(labels, chunk);
            _removed++;
        }
    }

    /// <summary>Forces the log to disk.</summary>
    public void Sync()
    {
        lock (_lock)
        {
            if (_dirty)
            {
                RandomAccess.FlushToDisk(_handle);
                _dirty = false;
            }
        }
    }

    /// <summary>Rewrites the log without the records of deleted chunks, when deletions dominate it.</summary>
    public void CompactIfWorthIt()
    {
        lock (_lock)
        {
            var live = 0;
            foreach (var stream in _streams.Values)
            {
                live += Math.Max(1, stream.Chunks.Count);
            }

            if (_removed < 64 || _removed < live)
            {
                return;
            }

            var temp = _path + ".tmp";
            using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                long offset = 0;
                foreach (var stream in _streams.Values)
                {
                    // A stream without chunks keeps one record so that its flushed-through sequence survives.
                    var chunks = stream.Chunks.Count > 0 ? stream.Chunks : [new ChunkRef(long.MaxValue, long.MinValue, 0, 0, 0)];
                    foreach (var chunk in chunks)
                    {
                        _buffer.Clear();
                        var frame = RecordFraming.BeginFrame(_buffer);
                        _buffer.WriteByte(AddChunk);
                        WriteLabels(_buffer, stream.Labels);
                        WriteChunk(_buffer, chunk);
                        _buffer.WriteInt64(stream.FlushedThroughSequence);
                        _buffer.WriteVarint((ulong)chunk.UncompressedBytes);
                        RecordFraming.EndFrame(_buffer, frame);
                        RandomAccess.Write(handle, _buffer.WrittenSpan, offset);
                        offset += _buffer.Length;
                    }
                }

                RandomAccess.FlushToDisk(handle);
                _offset = offset;
            }

            _handle.Dispose();
            File.Move(temp, _path, overwrite: true);
            _handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            _removed = 0;
            _dirty = false;
        }
    }

    public long MaxFlushedThrough()
    {
        lock (_lock)
        {
            var max = -1L;
            foreach (var stream in _streams.Values)
            {
                max = Math.Max(max, stream.FlushedThroughSequence);
            }

            return max;
        }
    }

    public IndexedStream? Find(LabelSet labels)
    {
        lock (_lock)
        {
            return _streams.GetValueOrDefault(labels);
        }
    }

    public long FlushedThrough(LabelSet labels)
    {
        lock (_lock)
        {
            return _streams.TryGetValue(labels, out var stream) ? stream.FlushedThroughSequence : -1;
        }
    }

    /// <summary>The chunks of a stream that overlap [from, to).</summary>
    public List<ChunkRef> Chunks(LabelSet labels, long from, long to)
    {
        var result = new List<ChunkRef>();
        lock (_lock)
        {
            if (_streams.TryGetValue(labels, out var stream))
            {
                foreach (var chunk in stream.Chunks)
                {
                    if (chunk.MinTs < to && chunk.MaxTs >= from)
                    {
                        result.Add(chunk);
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Every stream with its chunks (a copy), for retention.</summary>
    public List<(LabelSet Labels, ChunkRef[] Chunks)> Snapshot()
    {
        lock (_lock)
        {
            var result = new List<(LabelSet, ChunkRef[])>(_streams.Count);
            foreach (var stream in _streams.Values)
            {
                result.Add((stream.Labels, stream.Chunks.ToArray()));
            }

            return result;
        }
    }

    /// <summary>The streams with flushed chunks in [from, to) that match every matcher.</summary>
    public void Select(IReadOnlyList<LabelMatcher> matchers, long from, long to, HashSet<LabelSet> into)
    {
        lock (_lock)
        {
            IEnumerable<IndexedStream> candidates = _streams.Values;
            foreach (var matcher in matchers)
            {
                // The narrowest equality posting list bounds the scan.
                if (matcher.Type == LabelMatchType.Equal && matcher.Value.Length > 0)
                {
                    if (!_postings.TryGetValue(matcher.Name, out var values) || !values.TryGetValue(matcher.Value, out var streams))
                    {
                        return;
                    }

                    if (candidates is not HashSet<IndexedStream> current || streams.Count < current.Count)
                    {
                        candidates = streams;
                    }
                }
            }

            foreach (var stream in candidates)
            {
                if (stream.Chunks.Count == 0 || !Matches(stream.Labels, matchers))
                {
                    continue;
                }

                foreach (var chunk in stream.Chunks)
                {
                    if (chunk.MinTs < to && chunk.MaxTs >= from)
                    {
                        into.Add(stream.Labels);
                        break;
                    }
                }
            }
        }
    }

    public void LabelNames(HashSet<string> into)
    {
        lock (_lock)
        {
            foreach (var (name, values) in _postings)
            {
                if (values.Count > 0)
                {
                    into.Add(name);
                }
            }
        }
    }

    public void LabelValues(string name, HashSet<string> into)
    {
        lock (_lock)
        {
            if (_postings.TryGetValue(name, out var values))
            {
                foreach (var (value, streams) in values)
                {
                    if (streams.Count > 0)
                    {
                        into.Add(value);
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_dirty)
            {
                RandomAccess.FlushToDisk(_handle);
            }

            _handle.Dispose();
            _buffer.Dispose();
        }
    }

    internal static bool Matches(LabelSet labels, IReadOnlyList<LabelMatcher> matchers)
    {
        foreach (var matcher in matchers)
        {
            if (!matcher.Matches(labels[matcher.Name]))
            {
                return false;
            }
        }

        return true;
    }

    private void Append()
    {
        RandomAccess.Write(_handle, _buffer.WrittenSpan, _offset);
        _offset += _buffer.Length;
        _dirty = true;
    }

    private void Apply(byte[] record)
    {
        var reader = new SpanReader(record);
        var type = reader.ReadByte();
        var labels = ChunkFile.ReadLabels(ref reader);
        var chunk = ReadChunk(ref reader);
        switch (type)
        {
            case AddChunk:
                var flushedThrough = reader.ReadInt64();
                AddLocked(labels, WithStatistics(chunk, ref reader), flushedThrough);
                break;
            case RemoveChunk:
                RemoveLocked(labels, WithStatistics(chunk, ref reader));
                _removed++;
                break;
            default:
                throw new InvalidDataException($"unknown index record type {type}");
        }
    }

    private void AddLocked(LabelSet labels, ChunkRef chunk, long flushedThrough)
    {
        if (!_streams.TryGetValue(labels, out var stream))
        {
            stream = new IndexedStream(labels);
            _streams.Add(labels, stream);
            foreach (var label in labels)
            {
                if (!_postings.TryGetValue(label.Name, out var values))
                {
                    values = new Dictionary<string, HashSet<IndexedStream>>(StringComparer.Ordinal);
                    _postings.Add(label.Name, values);
                }

                if (!values.TryGetValue(label.Value, out var streams))
                {
                    streams = [];
                    values.Add(label.Value, streams);
                }

                streams.Add(stream);
            }
        }

        stream.FlushedThroughSequence = Math.Max(stream.FlushedThroughSequence, flushedThrough);
        if (chunk.Entries == 0)
        {
            return; // A compaction placeholder that only carries the flushed-through sequence.
        }

        var position = stream.Chunks.FindIndex(c => c.MinTs > chunk.MinTs);
        stream.Chunks.Insert(position < 0 ? stream.Chunks.Count : position, chunk);
    }

    private void RemoveLocked(LabelSet labels, ChunkRef chunk)
    {
        if (_streams.TryGetValue(labels, out var stream))
        {
            stream.Chunks.Remove(chunk);
        }
    }

    private static void WriteLabels(ByteBuffer buffer, LabelSet labels)
    {
        buffer.WriteVarint((ulong)labels.Count);
        foreach (var label in labels)
        {
            buffer.WriteString(label.Name);
            buffer.WriteString(label.Value);
        }
    }

    private static void WriteChunk(ByteBuffer buffer, ChunkRef chunk)
    {
        buffer.WriteInt64(chunk.MinTs);
        buffer.WriteInt64(chunk.MaxTs);
        buffer.WriteVarint((ulong)chunk.Entries);
        buffer.WriteVarint((ulong)chunk.Size);
        buffer.WriteUInt32(chunk.Checksum);
    }

    /// <summary>The chunk's uncompressed size, which records end with since it is kept (older records: 0).</summary>
    private static ChunkRef WithStatistics(ChunkRef chunk, ref SpanReader reader) =>
        reader.Remaining > 0 ? chunk with { UncompressedBytes = (long)reader.ReadVarint() } : chunk;

    private static ChunkRef ReadChunk(ref SpanReader reader) =>
        new(reader.ReadInt64(), reader.ReadInt64(), (int)reader.ReadVarint(), (long)reader.ReadVarint(), reader.ReadUInt32());

    [LoggerMessage(10, LogLevel.Warning, "Index log {Path} damaged at offset {Offset}: {Reason}; the records before it are kept")]
    private static partial void LogIndexCut(ILogger logger, string path, long offset, string reason);
}
