using System.Text;
using Pipeline.LogQL.Extraction;

namespace Pipeline.Tests.LogQL.Extraction;

public class JsonExtractorTests
{
    private const string Doc = "{\"level\":\"info\",\"msg\":\"a \\\"b\\\"\",\"n\":12.5,\"ok\":true,\"nil\":null,\"user\":{\"id\":7,\"first name\":\"bo\",\"tags\":[\"x\",\"y\"],\"addr\":{\"zip\":\"1\"}},\"9lives\":1,\"é\":\"e\",\"esc\\u0061ped\":\"k\"}";

    [Theory]
    [InlineData("level", "level=info")]
    [InlineData("msg", "msg=a \"b\"")]
    [InlineData("n", "n=12.5")]
    [InlineData("ok", "ok=true")]
    [InlineData("user.id", "user.id=7")]
    [InlineData("user[\"first name\"]", "user[\"first name\"]=bo")]
    [InlineData("user.\"first name\"", "user.\"first name\"=bo")]
    [InlineData("user.tags[1]", "user.tags[1]=y")]
    [InlineData("user.tags", "user.tags=[\"x\",\"y\"]")]
    [InlineData("user.addr", "user.addr={\"zip\":\"1\"}")]
    [InlineData("escaped", "escaped=k")]
    public void Paths_ExtractValue(string path, string expected)
    {
        Assert.Equal(expected, Extract(JsonExtractor.ForPaths([path], missingAsEmpty: false), [path], Doc));
    }

    [Theory]
    [InlineData("nil")]
    [InlineData("nope")]
    [InlineData("user.tags[5]")]
    [InlineData("level.x")]
    public void Paths_NullOrMissing_PromtailExtractsNothing(string path)
    {
        Assert.Equal(string.Empty, Extract(JsonExtractor.ForPaths([path], missingAsEmpty: false), [path], Doc));
    }

    [Theory]
    [InlineData("nil")]
    [InlineData("nope")]
    [InlineData("user.tags[5]")]
    public void Paths_NullOrMissing_LogQLExtractsEmpty(string path)
    {
        Assert.Equal(path + "=", Extract(JsonExtractor.ForPaths([path], missingAsEmpty: true), [path], Doc));
    }

    [Fact]
    public void Paths_SharedPrefixAndSamePath_AllInOnePass()
    {
        string[] paths = ["user.id", "user.addr.zip", "level", "user.id"];

        Assert.Equal("level=info;user.id=7;user.id=7;user.addr.zip=1", Extract(JsonExtractor.ForPaths(paths, false), paths, Doc));
    }

    [Fact]
    public void AllKeys_FlattensNestedSanitizesNamesSkipsArraysAndNulls()
    {
        Assert.Equal(
            "level=info;msg=a \"b\";n=12.5;ok=true;user_id=7;user_first_name=bo;user_addr_zip=1;_9lives=1;_=e;escaped=k",
            Extract(JsonExtractor.ForAllKeys(), [], Doc));
    }

    [Theory]
    [InlineData("", "The input does not contain any JSON tokens.")]
    [InlineData("[1,2]", JsonExtractor.NotAnObject)]
    [InlineData("\"text\"", JsonExtractor.NotAnObject)]
    [InlineData("not json", "'not json' is an invalid JSON literal.")]
    [InlineData("{\"level\":", "Expected depth to be zero")]
    [InlineData("{\"level\":\"x\"} trailing", "'t' is invalid after a single JSON value.")]
    public void Malformed_ReportsWhat(string line, string expected)
    {
        var extractor = JsonExtractor.ForAllKeys();
        var target = new RecordingTarget([]);

        Assert.False(extractor.Extract(Encoding.UTF8.GetBytes(line), ref target, out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_ValuesBeforeTheErrorStay()
    {
        var extractor = JsonExtractor.ForAllKeys();
        var target = new RecordingTarget([]);

        Assert.False(extractor.Extract("{\"a\":\"1\",\"b\":"u8, ref target, out _));
        Assert.Equal("a=1", target.ToString());
    }

    [Theory]
    [InlineData("a.*")]
    [InlineData("a[*]")]
    [InlineData("length(a)")]
    [InlineData("a[-1]")]
    [InlineData("a.")]
    [InlineData("\"unterminated")]
    [InlineData("a | b")]
    [InlineData("user-agent")]
    [InlineData("a[\"b\"")]
    public void Paths_Unsupported_Throw(string path)
    {
        var ex = Assert.Throws<FormatException>(() => JsonExtractor.ForPaths([path], false));

        Assert.Contains("expected a path of keys and indexes", ex.Message, StringComparison.Ordinal);
    }

    private static string Extract(JsonExtractor extractor, string[] names, string line)
    {
        var target = new RecordingTarget(names);
        Assert.True(extractor.Extract(Encoding.UTF8.GetBytes(line), ref target, out var error), error);
        return target.ToString();
    }
}
