using BenchmarkDotNet.Attributes;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Parsing;

/// <summary>
/// Shared shape of the parser benchmarks: one operation = restore the raw line, labels and extracted map of a reused
/// entry (what a source does for every line), then run the stage. <see cref="Restore"/> alone is the baseline to subtract.
/// </summary>
[MemoryDiagnoser]
public abstract class ParserBenchmarkBase
{
    private readonly LogEntry _entry = new();
    private byte[] _raw = [];
    private LabelSet _labels = LabelSet.Empty;
    private ILogStage _stage = null!;

    protected void Init(string line, ILogStage stage, LabelSet? labels = null)
    {
        _raw = System.Text.Encoding.UTF8.GetBytes(line);
        _stage = stage;
        _labels = labels ?? LabelSet.Parse("{job=\"bench\", filename=\"/var/log/pods/prod_api-7d9f_0f1e/app/0.log\"}");
        for (var i = 0; i < 100; i++)
        {
            Process();
        }
    }

    [Benchmark(Baseline = true)]
    public int Restore()
    {
        _entry.SetLine(_raw);
        _entry.Labels = _labels;
        if (_entry.Extracted.Count > 0)
        {
            _entry.Extracted.Clear();
        }

        return _entry.LineLength;
    }

    [Benchmark]
    public StageResult Process()
    {
        Restore();
        return _stage.Process(_entry);
    }
}
