using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class JsonStageTests
{
    private const string Doc = "{\"level\":\"info\",\"msg\":\"a \\\"b\\\"\",\"n\":12.5,\"ok\":true,\"nil\":null,\"user\":{\"id\":7,\"name\":\"bo\",\"tags\":[\"x\",\"y\"]},\"a.b\":\"dotted\",\"arr\":[{\"k\":1},{\"k\":2}],\"obj\":{\"z\":1, \"y\":[1, 2]}}";

    [Theory]
    [InlineData("level", "", "info")]
    [InlineData("m", "msg", "a \"b\"")]
    [InlineData("n", "n", "12.5")]
    [InlineData("ok", "ok", "true")]
    [InlineData("id", "user.id", "7")]
    [InlineData("name", "user.name", "bo")]
    [InlineData("tag", "user.tags[1]", "y")]
    [InlineData("dotted", "\"a.b\"", "dotted")]
    [InlineData("k", "arr[1].k", "2")]
    [InlineData("obj", "obj", "{\"z\":1, \"y\":[1, 2]}")]
    [InlineData("tags", "user.tags", "[\"x\",\"y\"]")]
    [InlineData("quoted", "user.\"name\"", "bo")]
    [InlineData("nil", "nil", null)]
    [InlineData("missing", "nope.deeper", null)]
    [InlineData("outofrange", "user.tags[5]", null)]
    [InlineData("notobject", "level.x", null)]
    public void Process_Expression_ExtractsValue(string name, string expression, string? expected)
    {
        var stage = new JsonStage(new JsonStageOptions { Expressions = { [name] = expression } });
        var entry = StageTest.Entry(Doc);

        Assert.Equal(StageResult.Keep, stage.Process(entry));

        Assert.Equal(expected, entry.Extracted.Get(name));
        Assert.Equal(Doc, entry.GetLineString());
    }

    [Fact]
    public void Process_ManyExpressions_ExtractsAllInOnePass()
    {
        var stage = new JsonStage(new JsonStageOptions
        {
            Expressions = { ["level"] = null, ["id"] = "user.id", ["user"] = "user", ["first"] = "user.tags[0]" },
        });
        var entry = StageTest.Entry(Doc);

        stage.Process(entry);

        Assert.Equal("info", entry.Extracted.Get("level"));
        Assert.Equal("7", entry.Extracted.Get("id"));
        Assert.Equal("x", entry.Extracted.Get("first"));
        Assert.StartsWith("{\"id\":7", entry.Extracted.Get("user"));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("not json", false)]
    [InlineData("[1,2]", false)]
    [InlineData("{\"level\":", false)]
    [InlineData("\"text\"", false)]
    [InlineData("", true)]
    [InlineData("{\"level\":\"x\"} trailing", true)]
    public void Process_Malformed_KeepsOrDrops(string line, bool dropMalformed)
    {
        var stage = new JsonStage(new JsonStageOptions { Expressions = { ["level"] = "" }, DropMalformed = dropMalformed });
        var entry = StageTest.Entry(line);

        var result = stage.Process(entry);

        Assert.Equal(dropMalformed, result.IsDrop);
        if (dropMalformed)
        {
            Assert.Equal(JsonStage.MalformedReason, result.DropReason);
        }
    }

    [Fact]
    public void Process_InvalidUtf8_DoesNotThrow()
    {
        byte[] line = [.. "{\"level\":\""u8.ToArray(), 0xff, 0xc3, .. "\"}"u8.ToArray()];
        var stage = new JsonStage(new JsonStageOptions { Expressions = { ["level"] = "" } });

        Assert.Equal(StageResult.Keep, stage.Process(StageTest.Entry(line)));
    }

    [Fact]
    public void Process_Source_ParsesExtractedValue()
    {
        var stage = new JsonStage(new JsonStageOptions { Expressions = { ["inner"] = "a" }, Source = "payload" });
        var entry = StageTest.Entry("line");
        entry.Extracted.Set("payload", "{\"a\":\"from source\"}"u8);
        var missing = StageTest.Entry("{\"a\":\"line\"}");

        stage.Process(entry);
        stage.Process(missing);

        Assert.Equal("from source", entry.Extracted.Get("inner"));
        Assert.Null(missing.Extracted.Get("inner"));
    }

    [Fact]
    public void Process_VeryLongValue_Extracted()
    {
        var big = new string('v', 1024 * 1024);
        var stage = new JsonStage(new JsonStageOptions { Expressions = { ["m"] = "msg" } });
        var entry = StageTest.Entry($"{{\"msg\":\"\\t{big}\"}}");

        stage.Process(entry);

        Assert.Equal("\t" + big, entry.Extracted.Get("m"));
    }

    [Theory]
    [InlineData("a.*")]
    [InlineData("a[*]")]
    [InlineData("length(a)")]
    [InlineData("a[-1]")]
    [InlineData("a.")]
    [InlineData("\"unterminated")]
    [InlineData("a | b")]
    public void Constructor_UnsupportedExpression_Throws(string expression)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new JsonStage(new JsonStageOptions { Expressions = { ["x"] = expression } }));

        Assert.Contains("json.expressions", ex.Message);
        Assert.Contains(expression, ex.Message);
    }

    [Fact]
    public void Constructor_NoExpressions_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new JsonStage(new JsonStageOptions()));
        Assert.Equal("expressions", ex.Field);
    }
}
