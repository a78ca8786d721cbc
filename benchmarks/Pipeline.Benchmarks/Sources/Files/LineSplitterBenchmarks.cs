using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Sources.Files;

namespace Pipeline.Benchmarks.Sources.Files;

/// <summary>
/// Splits a 64 MiB in-memory CRI log (~120-byte lines) into lines, as one buffer and as the 64 KiB segments a
/// <c>PipeReader</c> hands out (lines cross segment boundaries). Throughput = 64 MiB / mean time.
/// </summary>
[MemoryDiagnoser]
public class LineSplitterBenchmarks
{
    private const int TotalBytes = 64 * 1024 * 1024;
    private ReadOnlySequence<byte> _buffer;

    /// <summary>Segment size in bytes; 0 = one contiguous buffer.</summary>
    [Params(0, 64 * 1024)]
    public int SegmentSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var data = new byte[TotalBytes];
        var random = new Random(42);
        var offset = 0;
        var n = 0;
        while (true)
        {
            var line = Encoding.UTF8.GetBytes(
                $"2026-11-26T10:00:{n % 60:D2}.{n % 1_000_000_000:D9}Z {(n % 7 == 0 ? "stderr" : "stdout")} F level=info msg=\"request served\" path=/api/v1/items/{random.Next(100000)} status=200 duration={random.Next(1000)}ms\n");
            if (offset + line.Length > data.Length)
            {
                break;
            }

            line.CopyTo(data, offset);
            offset += line.Length;
            n++;
        }

        data.AsSpan(offset).Fill((byte)'\n');
        _buffer = SegmentSize == 0 ? new ReadOnlySequence<byte>(data) : Segment.Split(data, SegmentSize);
    }

    [Benchmark]
    public long Split()
    {
        using var splitter = new LineSplitter();
        var buffer = _buffer;
        long bytes = 0;
        while (splitter.TryReadLine(ref buffer, isFinal: true, out var line))
        {
            bytes += line.Length;
        }

        return bytes + splitter.Position;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Split(byte[] data, int size)
        {
            var first = new Segment(data.AsMemory(0, Math.Min(size, data.Length)), 0);
            var last = first;
            for (var offset = size; offset < data.Length; offset += size)
            {
                var next = new Segment(data.AsMemory(offset, Math.Min(size, data.Length - offset)), offset);
                last.Next = next;
                last = next;
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
