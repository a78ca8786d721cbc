using BenchmarkDotNet.Attributes;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Parsing;

public class LogfmtStageBenchmarks : ParserBenchmarkBase
{
    [GlobalSetup]
    public void Setup() => Init(
        "ts=2026-11-26T10:00:00.123Z level=info msg=\"request served\" method=GET path=/api/v1/cart status=200 duration=12.5ms trace_id=4bf92f3577b34da6",
        new LogfmtStage(new LogfmtStageOptions { Mapping = { ["level"] = null, ["msg"] = null, ["status"] = null } }));
}
