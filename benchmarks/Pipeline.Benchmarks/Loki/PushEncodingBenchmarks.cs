using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Snappier;

namespace Pipeline.Benchmarks.Loki;

/// <summary>
/// Encoding and decoding a 1 MiB push batch of typical pod lines (about 200 bytes each, 10 streams, some with a
/// trace id in structured metadata). MB/s = 1 MiB / mean time; allocations should be O(1) per batch, not O(lines).
/// </summary>
[MemoryDiagnoser]
public class PushEncodingBenchmarks
{
    private const int BatchBytes = 1024 * 1024;

    private readonly PushRequestBuilder _builder = new();
    private readonly PooledBufferWriter _output = new();
    private LogEntry[] _entries = [];
    private LabelSet[] _labels = [];
    private byte[] _protobuf = [];
    private byte[] _snappyBody = [];
    private byte[] _jsonBody = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _labels = Enumerable.Range(0, 10)
            .Select(i => LabelSet.Create(
                new Label("namespace", "prod"), new Label("pod", $"api-7d9f8b6c5-{i:x5}"), new Label("container", "api"),
                new Label("job", "prod/api"), new Label("stream", i % 2 == 0 ? "stdout" : "stderr")))
            .ToArray();
        var entries = new List<LogEntry>();
        var total = 0;
        while (total < BatchBytes)
        {
            var entry = new LogEntry { Timestamp = 1_732_611_600_000_000_000 + (entries.Count * 1_000_123L) };
            entry.Labels = _labels[random.Next(_labels.Length)];
            entry.SetLine(
                $"level=info ts=2026-11-26T10:00:{entries.Count % 60:D2}.{random.Next(1_000_000):D6}Z caller=handler.go:{random.Next(400)} " +
                $"msg=\"request completed\" method=GET path=/api/v1/orders/{random.Next(100_000)} status=200 duration={random.Next(1, 900)}ms " +
                $"bytes={random.Next(100, 90_000)} user_agent=\"Go-http-client/1.1\"");
            if (entries.Count % 4 == 0)
            {
                entry.Metadata.Set("trace_id", Encoding.ASCII.GetBytes($"{random.NextInt64():x16}{random.NextInt64():x16}"));
            }

            total += entry.LineLength;
            entries.Add(entry);
        }

        _entries = [.. entries];
        Fill();
        _protobuf = new byte[_builder.ProtobufLength];
        _builder.WriteProtobuf(_protobuf);
        _snappyBody = Snappy.CompressToArray(_protobuf);
        var json = new PooledBufferWriter();
        _builder.WriteJson(json);
        _jsonBody = json.WrittenSpan.ToArray();
        json.Dispose();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _builder.Dispose();
        _output.Dispose();
    }

    /// <summary>Encoding alone: entries into the protobuf PushRequest.</summary>
    [Benchmark]
    public long Encode()
    {
        Fill();
        _output.Clear();
        _builder.WriteProtobuf(_output);
        return _output.WrittenCount;
    }

    /// <summary>Snappy alone over the already-encoded request, for comparison with <see cref="Encode"/>.</summary>
    [Benchmark]
    public int SnappyOnly()
    {
        _output.Clear();
        var span = _output.GetSpan(Snappy.GetMaxCompressedLength(_protobuf.Length));
        return Snappy.Compress(_protobuf, span);
    }

    /// <summary>What the push sink does per batch: encode, then snappy into a pooled body.</summary>
    [Benchmark(Baseline = true)]
    public int EncodeAndSnappy()
    {
        Fill();
        _output.Clear();
        PushBodyEncoder.WriteSnappyProtobuf(_builder, _output);
        return _output.WrittenCount;
    }

    /// <summary>The JSON body (for endpoints that take only JSON).</summary>
    [Benchmark]
    public int EncodeJson()
    {
        Fill();
        _output.Clear();
        _builder.WriteJson(_output);
        return _output.WrittenCount;
    }

    /// <summary>What a push receiver does: unsnappy, parse and validate into a decoded request.</summary>
    [Benchmark]
    public int DecodeSnappyProtobuf()
    {
        PushRequestDecoder.TryDecodeSnappyProtobuf(_snappyBody, out var push, out _);
        using (push)
        {
            return push!.EntryCount;
        }
    }

    /// <summary>Decoding the JSON body.</summary>
    [Benchmark]
    public int DecodeJson()
    {
        PushRequestDecoder.TryDecodeJson(_jsonBody, out var push, out _);
        using (push)
        {
            return push!.EntryCount;
        }
    }

    private void Fill()
    {
        _builder.Clear();
        foreach (var entry in _entries)
        {
            _builder.Add(entry.Labels, entry);
        }
    }
}
