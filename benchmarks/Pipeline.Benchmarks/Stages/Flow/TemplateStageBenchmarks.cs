using BenchmarkDotNet.Attributes;
using Pipeline.Model;
using Pipeline.Stages.Flow;

namespace Pipeline.Benchmarks.Stages.Flow;

/// <summary>
/// Promtail's <c>template</c> stage over two extracted values (what a <c>json</c> or <c>regex</c> stage left): one
/// operation = restore the extracted map of a reused entry, then render the template into <c>source</c>.
/// </summary>
[MemoryDiagnoser]
public class TemplateStageBenchmarks
{
    private readonly LogEntry _entry = new();
    private TemplateStage _stage = null!;

    [Params("{{ .Value | ToUpper }}", "{{ if eq .level \"error\" }}E{{ else }}{{ .level }}-{{ .app }}{{ end }}")]
    public string Template { get; set; } = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _entry.SetLine("level=info app=api msg=\"request served\""u8);
        _stage = new TemplateStage(new TemplateStageOptions { Source = "level", Template = Template });
        for (var i = 0; i < 100; i++)
        {
            Process();
        }
    }

    [Benchmark(Baseline = true)]
    public int Restore()
    {
        _entry.Extracted.Clear();
        _entry.Extracted.Set("level", "info"u8);
        _entry.Extracted.Set("app", "api"u8);
        return _entry.Extracted.Count;
    }

    [Benchmark]
    public int Process()
    {
        Restore();
        _stage.Process(_entry);
        return _entry.Extracted.Count;
    }
}
