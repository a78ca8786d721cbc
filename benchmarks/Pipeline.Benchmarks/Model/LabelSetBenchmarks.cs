using BenchmarkDotNet.Attributes;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Model;

/// <summary>Label set text form and fingerprint: done once per stream, never per line.</summary>
[MemoryDiagnoser]
public class LabelSetBenchmarks
{
    private string _text = "";
    private LabelSet _set = LabelSet.Empty;
    private Label[] _labels = [];

    [Params(5, 15)]
    public int Labels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _labels = Enumerable.Range(0, Labels)
            .Select(i => new Label($"label_{i:D2}", $"value-{i}-with \"quotes\" and \\ backslash"))
            .Reverse()
            .ToArray();
        _set = LabelSet.Create(_labels);
        _text = _set.ToString();
    }

    [Benchmark]
    public LabelSet Parse() => LabelSet.Parse(_text);

    [Benchmark]
    public string Format() => Pipeline.Model.LabelText.Format(_set.Labels);

    [Benchmark]
    public LabelSet CreateAndFingerprint() => LabelSet.Create(_labels);

    [Benchmark]
    public string? Lookup() => _set["label_03"];
}
