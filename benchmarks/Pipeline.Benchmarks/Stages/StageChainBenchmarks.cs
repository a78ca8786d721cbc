using BenchmarkDotNet.Attributes;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Labels;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages;

/// <summary>
/// The agent's usual chain, <c>cri -> regex(filename) -> labels</c>, per entry: the labels stage must reuse the
/// stream's label set, so the allocation per entry is only what the regex engine's match object costs.
/// </summary>
[MemoryDiagnoser]
public class StageChainBenchmarks
{
    private const string Filename = "/var/log/pods/prod_api-7d9f_0f1e2d3c/app/0.log";
    private readonly LogEntry _entry = new();
    private byte[] _raw = [];
    private byte[] _filename = [];
    private LabelSet _labels = LabelSet.Empty;
    private ILogStage[] _stages = [];

    [GlobalSetup]
    public void Setup()
    {
        _raw = "2026-11-26T10:00:00.123456789Z stdout F 10.0.0.7 GET /api/v1/cart 200 12ms"u8.ToArray();
        _filename = System.Text.Encoding.UTF8.GetBytes(Filename);
        _labels = LabelSet.Parse("{job=\"kubernetes-pods\", filename=\"" + Filename + "\"}");
        _stages =
        [
            new CriParser(),
            new RegexStage(new RegexStageOptions { Expression = "^/var/log/pods/(?P<namespace>[^_]+)_(?P<pod>[^_]+)_[^/]+/(?P<container>[^/]+)/", Source = "filename" }),
            new LabelsStage(new LabelsStageOptions { Values = { ["namespace"] = null, ["pod"] = null, ["container"] = null } }),
        ];
        for (var i = 0; i < 100; i++)
        {
            Chain();
        }
    }

    [Benchmark(Baseline = true)]
    public int Restore()
    {
        _entry.SetLine(_raw);
        _entry.Labels = _labels;
        _entry.Extracted.Clear();
        _entry.Extracted.Set("filename", _filename);
        return _entry.LineLength;
    }

    [Benchmark]
    public LabelSet Chain()
    {
        Restore();
        foreach (var stage in _stages)
        {
            stage.Process(_entry);
        }

        return _entry.Labels;
    }
}
