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

    [Fact]
    public void Keys_OnlyWantedFirstValues_NestedFlattened()
    {
        var target = new RecordingTarget(["n", "user_addr_zip", "level"]);
        byte[][] keys = ["n"u8.ToArray(), "user_addr_zip"u8.ToArray(), "level"u8.ToArray(), "ok"u8.ToArray()];

        // Two keys may give one output ("ok" here reports as "level", after the real level: the first value wins).
        Assert.True(JsonExtractor.ForAllKeys().ExtractKeys(Encoding.UTF8.GetBytes(Doc), keys, [0, 1, 2, 2], 3, ref target, out var error), error);

        Assert.Equal("level=info;n=12.5;user_addr_zip=1", target.ToString());
    }

    [Fact]
    public void Keys_AllFound_RestOfLineNotRead()
    {
        var target = new RecordingTarget(["status"]);

        var ok = JsonExtractor.ForAllKeys().ExtractKeys("{\"a\":{\"b\":[1,{}]},\"status\":500,\"status\":404, oops"u8, ["status"u8.ToArray()], [0], 1, ref target, out var error);

        // The object under "a" holds no wanted key and is skipped; nothing after the last wanted key is read.
        Assert.True(ok, error);
        Assert.Equal("status=500", target.ToString());
    }

    [Theory]
    [InlineData("{\"level\":\"info\", oops")]
    [InlineData("not json")]
    [InlineData("{\"level\":\"info\"} trailing")]
    public void Keys_WantedMissing_WholeLineChecked(string line)
    {
        var target = new RecordingTarget(["status"]);

        Assert.False(JsonExtractor.ForAllKeys().ExtractKeys(Encoding.UTF8.GetBytes(line), ["status"u8.ToArray()], [0], 1, ref target, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Keys_NoOutputs_WholeLineChecked()
    {
        var target = new RecordingTarget([]);

        Assert.False(JsonExtractor.ForAllKeys().ExtractKeys("{\"a\":1,"u8, [], [], 0, ref target, out _));
        Assert.Empty(target.Values);
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    [InlineData("{\"a\":01}")]
    [InlineData("{\"a\":1.}")]
    [InlineData("{\"a\":-}")]
    [InlineData("{\"a\":1e}")]
    [InlineData("{\"a\":-0.5E+5}")]
    [InlineData("{\"a\":12x}")]
    [InlineData("{\"a\":tru}")]
    [InlineData("{\"a\":nul,\"b\":1}")]
    [InlineData("{\"a\":\"x\ty\"}")]
    [InlineData("{\"a\":\"\\u00e9\\n\"}")]
    [InlineData("{\"a\":\"\\q\"}")]
    [InlineData("{\"a\":\"\\u12\"}")]
    [InlineData("{\"a\":\"é\"}")]
    [InlineData(" { \"a\" : \"b\" , \"c\" : null } ")]
    [InlineData("{}")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{\"a\":1}}")]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":[1,2],\"b\":2}")]
    [InlineData("{\"a\":{\"b\":1}}")]
    [InlineData("{\"a\\u0062\":1}")]
    [InlineData("{\"a-b\":1,\"9\":2}")]
    [InlineData("{\"a\":true,\"a\":false}")]
    [InlineData("{\"a\":1 \"b\":2}")]
    [InlineData("{\"a\":1,\"b\"}")]
    [InlineData("{\"a\":\"unterminated}")]
    [InlineData("[1]")]
    [InlineData("\"s\"")]
    [InlineData("")]
    public void Keys_SameAnswersAsReadingEveryKey(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var all = new RecordingTarget([]);
        var allOk = JsonExtractor.ForAllKeys().Extract(bytes, ref all, out var allError);
        string[] names = ["a", "b", "a_b", "_9", "ab", "zzz"];
        var keys = new RecordingTarget(names);
        var keysOk = JsonExtractor.ForAllKeys().ExtractKeys(bytes, [.. names.Select(Encoding.UTF8.GetBytes)], [0, 1, 2, 3, 4, 5], names.Length, ref keys, out var keysError);

        // "zzz" is never found, so the whole line is read: the same errors, and the first value of each key.
        Assert.Equal(allOk, keysOk);
        Assert.Equal(allError, keysError);
        var firsts = all.Values.GroupBy(v => v[..v.IndexOf('=', StringComparison.Ordinal)]).Where(g => names.Contains(g.Key)).Select(g => g.First());
        Assert.Equal(string.Join(";", firsts.Order(StringComparer.Ordinal)), string.Join(";", keys.Values.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void Keys_InvalidUtf8_AsReadingEveryKey()
    {
        byte[] line = [.. "{\"a\":\""u8, 0xff, .. "\",\"b\":1}"u8];
        var all = new RecordingTarget([]);
        var allOk = JsonExtractor.ForAllKeys().Extract(line, ref all, out _);
        var keys = new RecordingTarget(["b", "zzz"]);

        Assert.Equal(allOk, JsonExtractor.ForAllKeys().ExtractKeys(line, ["b"u8.ToArray(), "zzz"u8.ToArray()], [0, 1], 2, ref keys, out _));
    }

    private static string Extract(JsonExtractor extractor, string[] names, string line)
    {
        var target = new RecordingTarget(names);
        Assert.True(extractor.Extract(Encoding.UTF8.GetBytes(line), ref target, out var error), error);
        return target.ToString();
    }
}
