using BenchmarkDotNet.Attributes;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Parsing;

public class PatternStageBenchmarks : ParserBenchmarkBase
{
    [GlobalSetup]
    public void Setup() => Init(
        "10.0.0.7 - - [26/Nov/2026:10:00:00 +0000] \"GET /api/v1/cart?id=42 HTTP/1.1\" 200 512",
        new PatternStage(new PatternStageOptions { Pattern = "<ip> - <_> [<ts>] \"<method> <path> <_>\" <status> <size>" }));
}
