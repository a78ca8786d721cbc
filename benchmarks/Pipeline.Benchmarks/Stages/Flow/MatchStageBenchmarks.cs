using BenchmarkDotNet.Attributes;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Flow;

namespace Pipeline.Benchmarks.Stages.Flow;

/// <summary>
/// Promtail's <c>match</c> stage with <c>action: drop</c>: label matchers (cached per label set) and line filters on
/// the line's bytes, one with a regex. Half the lines match; one operation is one entry.
/// </summary>
[MemoryDiagnoser]
public class MatchStageBenchmarks
{
    private readonly LogEntry _entry = new();
    private byte[] _match = [];
    private byte[] _other = [];
    private MatchStage _stage = null!;
    private int _n;

    [GlobalSetup]
    public void Setup()
    {
        _match = "2026-11-26T10:00:00.123Z level=debug msg=\"cache miss\" key=user:42 took=3ms"u8.ToArray();
        _other = "2026-11-26T10:00:00.123Z level=info msg=\"request served\" path=/api/v1/cart status=200"u8.ToArray();
        _entry.Labels = LabelSet.Parse("{app=\"api\", namespace=\"prod\", pod=\"api-7d9f-x1\"}");
        _stage = new MatchStage(new MatchStageOptions
        {
            Selector = "{app=\"api\", namespace=~\"prod|staging\"} |= \"level=debug\" |~ \"took=\\\\d+ms\"",
            Action = "drop",
        });
        for (var i = 0; i < 100; i++)
        {
            Process();
        }
    }

    [Benchmark]
    public StageResult Process()
    {
        _entry.SetLine((_n++ & 1) == 0 ? _match : _other);
        return _stage.Process(_entry);
    }
}
