using Pipeline.Loki.Protocol;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.Storage;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Storage;

public class ChunkStoreTests
{
    [Theory]
    [InlineData("fake")]
    [InlineData("team-1_(prod).eu*'!")]
    [InlineData("...")]
    [InlineData(".hidden")]
    public void TenantId_Valid(string tenant)
    {
        Assert.True(LokiTenant.IsValid(tenant, out var error), error);
    }

    [Theory]
    [InlineData("", "no org id")]
    [InlineData(".", "tenant ID is '.' or '..'")]
    [InlineData("..", "tenant ID is '.' or '..'")]
    [InlineData("../etc", "unsupported character '/'")]
    [InlineData("a/b", "unsupported character '/'")]
    [InlineData("a\\b", "unsupported character '\\'")]
    [InlineData("a b", "unsupported character ' '")]
    [InlineData("ümlaut", "unsupported character 'ü'")]
    [InlineData("a|b", "unsupported character '|'")]
    public void TenantId_Invalid_SaysWhy(string tenant, string expected)
    {
        Assert.False(LokiTenant.IsValid(tenant, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TenantId_TooLong_Rejected()
    {
        Assert.True(LokiTenant.IsValid(new string('a', 150), out _));
        Assert.False(LokiTenant.IsValid(new string('a', 151), out var error));
        Assert.Equal("tenant ID is too long: max 150 characters", error);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../outside")]
    [InlineData("/tmp/abs")]
    public async Task PathTraversal_TenantRejected_NothingWrittenOutside(string tenant)
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        await using var ingester = LogIngester.Open(Options(data), Clock());
        await Assert.ThrowsAsync<ArgumentException>(async () => await ingester.AppendAsync(tenant, Push(Labels("a"), Entry(1, "x"))));
        Assert.Throws<ArgumentException>(() => ingester.SelectStreams(tenant, []));
        Assert.Throws<ArgumentException>(() => ingester.ReadEntries(tenant, Labels("a"), 0, 10));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(data, "tenants")));
    }

    [Fact]
    public async Task TenantIsolation_OnDiskAndInReads()
    {
        using var dir = new TempDir();
        var labels = Labels("api");
        await using (var ingester = LogIngester.Open(Options(dir.Path), Clock()))
        {
            await ingester.AppendAsync("team-a", Push(labels, Entry(StartNs, "secret of a")));
            await ingester.AppendAsync("team-b", Push(labels, Entry(StartNs, "line of b")));
            await ingester.FlushAsync(all: true);
            Assert.Equal(["secret of a"], ReadAll(ingester, "team-a", labels).Select(e => e.Line));
            Assert.Equal(["line of b"], ReadAll(ingester, "team-b", labels).Select(e => e.Line));
            Assert.Empty(ReadAll(ingester, "team-c", labels));
            Assert.Empty(ingester.SelectStreams("team-c", []));
        }

        foreach (var tenant in new[] { "team-a", "team-b" })
        {
            var files = Directory.GetFiles(Path.Combine(dir.Path, "tenants", tenant), "*.chunk", SearchOption.AllDirectories);
            var file = Assert.Single(files);
            var header = ChunkFile.ReadHeader(file, out _);
            Assert.Equal(labels, header.Labels);
            Assert.Equal(1, header.Entries);
        }
    }

    [Fact]
    public async Task ChunkFile_HeaderHasLabelsTimeRangeCountChecksum_AndDamageIsDetected()
    {
        using var dir = new TempDir();
        await using (var ingester = LogIngester.Open(Options(dir.Path), Clock()))
        {
            await ingester.AppendAsync("t1", Push(Labels("api"), Entry(StartNs + 5, "b"), Entry(StartNs, "a")));
            await ingester.FlushAsync(all: true);
        }

        var file = Directory.GetFiles(dir.Path, "*.chunk", SearchOption.AllDirectories).Single();
        var header = ChunkFile.ReadHeader(file, out var dataOffset);
        Assert.Equal((StartNs, StartNs + 5, 2), (header.MinTs, header.MaxTs, header.Entries));
        Assert.Contains($"{header.Checksum:x8}", Path.GetFileName(file), StringComparison.Ordinal);
        var block = Assert.Single(header.Blocks);
        Assert.Equal(2, BlockEntries.Parse(ChunkFile.ReadBlock(file, dataOffset, block), block.Count).Count);

        var bytes = File.ReadAllBytes(file);
        bytes[dataOffset + block.Offset + block.CompressedLength - 1] ^= 0x40;
        File.WriteAllBytes(file, bytes);
        var error = Assert.Throws<InvalidDataException>(() => ChunkFile.ReadBlock(file, dataOffset, block));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_DeletesExpiredChunksPerTenant_WithFakeClock()
    {
        using var dir = new TempDir();
        var clock = Clock();
        var options = new IngesterOptions
        {
            DataDirectory = dir.Path,
            RunBackgroundLoops = false,
            RetentionPeriod = TimeSpan.FromHours(24),
            TenantRetention = new Dictionary<string, TimeSpan> { ["keep"] = TimeSpan.Zero },
        };
        var labels = Labels("api");
        await using (var ingester = LogIngester.Open(options, clock))
        {
            await ingester.AppendAsync("short", Push(labels, Entry(StartNs, "old")));
            await ingester.AppendAsync("keep", Push(labels, Entry(StartNs, "kept forever")));
            await ingester.FlushAsync(all: true);

            clock.Advance(TimeSpan.FromHours(23));
            await ingester.AppendAsync("short", Push(labels, Entry(TestData.Ns(clock.GetUtcNow()), "recent")));
            await ingester.FlushAsync(all: true);
            Assert.Equal(0, await ingester.ApplyRetentionAsync());

            clock.Advance(TimeSpan.FromHours(2));
            Assert.Equal(1, await ingester.ApplyRetentionAsync());
            Assert.Equal(["recent"], ReadAll(ingester, "short", labels).Select(e => e.Line));
            Assert.Equal(["kept forever"], ReadAll(ingester, "keep", labels).Select(e => e.Line));
        }

        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "tenants", "short"), "*.chunk", SearchOption.AllDirectories));
        await using var reopened = LogIngester.Open(options, clock);
        Assert.Equal(["recent"], ReadAll(reopened, "short", labels).Select(e => e.Line));
    }
}
