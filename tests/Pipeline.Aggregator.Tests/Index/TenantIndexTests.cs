using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aggregator.Index;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Index;

public class TenantIndexTests
{
    [Fact]
    public void Index_PersistedAndReloaded_TornTailCut()
    {
        using var dir = new TempDir();
        using (var index = TenantIndex.Open(dir.Path, NullLogger.Instance))
        {
            index.Add(Labels("api"), new ChunkRef(10, 20, 5, 100, 0xabc), 7);
            index.Add(Labels("api"), new ChunkRef(1, 9, 3, 80, 0xdef), 9);
            index.Add(Labels("web"), new ChunkRef(30, 40, 1, 50, 0x123), 11);
            index.Sync();
        }

        var log = Path.Combine(dir.Path, "index", "index.log");
        using (var stream = new FileStream(log, FileMode.Open))
        {
            stream.SetLength(stream.Length - 2); // The "web" record is torn.
        }

        using var reloaded = TenantIndex.Open(dir.Path, NullLogger.Instance);
        Assert.Equal(1, reloaded.StreamCount);
        Assert.Equal(9, reloaded.FlushedThrough(Labels("api")));
        Assert.Equal([1L, 10], reloaded.Chunks(Labels("api"), long.MinValue, long.MaxValue).Select(c => c.MinTs));
        Assert.Single(reloaded.Chunks(Labels("api"), 15, 16));
        var selected = new HashSet<Pipeline.Model.LabelSet>();
        reloaded.Select([LabelMatcher.Equal("app", "web")], long.MinValue, long.MaxValue, selected);
        Assert.Empty(selected);
    }

    [Theory]
    [InlineData(LabelMatchType.Equal, "app", "api", true)]
    [InlineData(LabelMatchType.Equal, "missing", "", true)]
    [InlineData(LabelMatchType.NotEqual, "app", "api", false)]
    [InlineData(LabelMatchType.Regex, "app", "a.*", true)]
    [InlineData(LabelMatchType.Regex, "app", "p", false)]
    [InlineData(LabelMatchType.NotRegex, "app", "web|db", true)]
    [InlineData(LabelMatchType.Regex, "missing", ".*", true)]
    public void Matcher_PrometheusSemantics(LabelMatchType type, string name, string value, bool matches)
    {
        Assert.Equal(matches, TenantIndex.Matches(Labels("api"), [new LabelMatcher(name, type, value)]));
    }

    [Fact]
    public void Matcher_InvalidRegex_SaysWhich()
    {
        var error = Assert.Throws<ArgumentException>(() => new LabelMatcher("app", LabelMatchType.Regex, "(unclosed"));
        Assert.Contains("(unclosed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_UncompressedBytesPersisted_AndRecordsWithoutThemReadAsZero()
    {
        using var dir = new TempDir();
        using (var index = TenantIndex.Open(dir.Path, NullLogger.Instance))
        {
            index.Add(Labels("api"), new ChunkRef(10, 20, 5, 100, 0xabc, 4096), 7);
            index.Add(Labels("api"), new ChunkRef(30, 40, 2, 60, 0xdef, 512), 8);
            index.Remove(Labels("api"), new ChunkRef(30, 40, 2, 60, 0xdef, 512));
            index.Sync();
        }

        {
            // A record as written before chunks kept their uncompressed size: no trailing size.
            using var buffer = new ByteBuffer(256);
            var frame = RecordFraming.BeginFrame(buffer);
            buffer.WriteByte(1);
            buffer.WriteVarint(1);
            buffer.WriteString("app");
            buffer.WriteString("web");
            buffer.WriteInt64(50);
            buffer.WriteInt64(60);
            buffer.WriteVarint(3);
            buffer.WriteVarint(70);
            buffer.WriteUInt32(0x123);
            buffer.WriteInt64(9);
            RecordFraming.EndFrame(buffer, frame);
            using var log = new FileStream(Path.Combine(dir.Path, "index", "index.log"), FileMode.Append, FileAccess.Write);
            log.Write(buffer.WrittenSpan);
        }

        using var reloaded = TenantIndex.Open(dir.Path, NullLogger.Instance);
        Assert.Equal([new ChunkRef(10, 20, 5, 100, 0xabc, 4096)], reloaded.Chunks(Labels("api"), long.MinValue, long.MaxValue));
        Assert.Equal([new ChunkRef(50, 60, 3, 70, 0x123, 0)], reloaded.Chunks(LabelSet.Parse("{app=\"web\"}"), long.MinValue, long.MaxValue));
    }
}
