using BenchmarkDotNet.Attributes;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Parsing;

public class DockerParserBenchmarks : ParserBenchmarkBase
{
    [GlobalSetup]
    public void Setup() => Init("{\"log\":\"10.0.0.7 - - \\\"GET /api/v1/cart?id=42 HTTP/1.1\\\" 200 512\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T10:00:00.123456789Z\"}", new DockerParser());
}
