using BenchmarkDotNet.Attributes;
using Pipeline.Stages.Flow;
using Pipeline.Benchmarks.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Flow;

public class DecolorizeStageBenchmarks : ParserBenchmarkBase
{
    [GlobalSetup]
    public void Setup() => Init(
        "\u001b[2m2026-11-26T10:00:00.123Z\u001b[0m \u001b[32mINFO\u001b[0m \u001b[1mrequest served\u001b[0m path=/api/v1/cart status=200",
        new DecolorizeStage());
}
