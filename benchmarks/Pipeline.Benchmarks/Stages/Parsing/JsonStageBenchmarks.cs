using BenchmarkDotNet.Attributes;
using Pipeline.Stages.Parsing;

namespace Pipeline.Benchmarks.Stages.Parsing;

public class JsonStageBenchmarks : ParserBenchmarkBase
{
    private const string Line = "{\"ts\":\"2026-11-26T10:00:00.123Z\",\"level\":\"info\",\"msg\":\"request served\",\"method\":\"GET\",\"path\":\"/api/v1/cart\",\"status\":200,\"duration_ms\":12.5,\"user\":{\"id\":42,\"name\":\"bo\"},\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"tags\":[\"a\",\"b\"]}";

    [Params(3, 10)]
    public int Fields { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new JsonStageOptions();
        string[] all = ["level", "msg", "trace_id", "ts", "method", "path", "status", "duration_ms", "user.id", "tags[1]"];
        foreach (var expression in all.Take(Fields))
        {
            options.Expressions[expression.Replace('.', '_').Replace("[", "_", StringComparison.Ordinal).Replace("]", string.Empty, StringComparison.Ordinal)] = expression;
        }

        Init(Line, new JsonStage(options));
    }
}
