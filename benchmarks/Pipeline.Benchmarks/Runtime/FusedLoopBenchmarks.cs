using BenchmarkDotNet.Attributes;
using Pipeline.Diagnostics;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Benchmarks.Runtime;

/// <summary>
/// The fused loop: a chunk of 256 entries through N trivial stages. Reported per chunk; divide by
/// 256 x Stages for the cost per entry per stage.
/// </summary>
[MemoryDiagnoser]
public class FusedLoopBenchmarks
{
    private FusedStages _fused = null!;
    private EntryChunk _chunk = null!;
    private System.Diagnostics.Metrics.Meter _meter = null!;

    [Params(1, 4)]
    public int Stages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _meter = new System.Diagnostics.Metrics.Meter(PipelineInstruments.MeterName);
        var stages = Enumerable.Range(0, Stages).Select(_ => (ILogStage)new CountingStage()).ToArray();
        var contexts = Enumerable.Range(0, Stages).Select(i => TestContexts.Component($"stage{i}", meter: _meter)).ToArray();
        _fused = new FusedStages(stages, contexts);
        _chunk = new EntryChunk(EntryChunkPool.DefaultChunkCapacity);
        var labels = LabelSet.Parse("{app=\"api\"}");
        while (!_chunk.IsFull)
        {
            var entry = _chunk.Add();
            entry.SetLine("level=info msg=\"request served\" path=/api/cart"u8);
            entry.Labels = labels;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _meter.Dispose();

    [Benchmark(OperationsPerInvoke = EntryChunkPool.DefaultChunkCapacity)]
    public int ProcessChunk()
    {
        _fused.Process(_chunk);
        return _chunk.Count;
    }

    private sealed class CountingStage : ILogStage
    {
        private long _bytes;

        public StageResult Process(LogEntry entry)
        {
            _bytes += entry.LineLength;
            return StageResult.Keep;
        }
    }
}
