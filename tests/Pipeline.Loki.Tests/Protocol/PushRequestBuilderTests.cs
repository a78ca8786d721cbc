using System.Buffers;
using System.Text;
using Google.Protobuf;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Generated = Pipeline.Loki.Protocol.Generated;

namespace Pipeline.Loki.Tests.Protocol;

public class PushRequestBuilderTests
{
    // Derived by hand from the protobuf encoding rules (independently of both encoders):
    // PushRequest{streams:[{labels:'{app="api"}', entries:[{ts:1732611600s+1ns, line:"hi", structuredMetadata:[trace_id=abc]}]}]}
    private const string GoldenHex =
        "0a2e0a0b7b6170703d22617069227d121f0a0808909c96ba061001120268691a0f0a0874726163655f69641203616263";

    [Fact]
    public void WriteProtobuf_KnownRequest_MatchesGoldenBytes()
    {
        using var builder = new PushRequestBuilder();
        var entry = new LogEntry { Timestamp = 1_732_611_600_000_000_001, Labels = LabelSet.Create(new Label("app", "api")) };
        entry.SetLine("hi"u8);
        entry.Metadata.Set("trace_id", "abc"u8);

        builder.Add(entry.Labels, entry);

        Assert.Equal(GoldenHex, Convert.ToHexStringLower(Protobuf(builder)));
        Assert.Equal(GoldenHex.Length / 2, builder.ProtobufLength);
    }

    [Fact]
    public void WriteProtobuf_KnownRequest_GeneratedSerializerAgreesWithGolden()
    {
        var request = new Generated.PushRequest();
        var stream = new Generated.StreamAdapter { Labels = "{app=\"api\"}" };
        var entry = new Generated.EntryAdapter
        {
            Timestamp = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 1_732_611_600, Nanos = 1 },
            Line = "hi",
        };
        entry.StructuredMetadata.Add(new Generated.LabelPairAdapter { Name = "trace_id", Value = "abc" });
        stream.Entries.Add(entry);
        request.Streams.Add(stream);

        Assert.Equal(GoldenHex, Convert.ToHexStringLower(request.ToByteArray()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(1234)]
    [InlineData(99999)]
    public void WriteProtobuf_GeneratedInputs_IdenticalToGeneratedSerializer(int seed)
    {
        var data = ProtocolTestData.Generate(seed);
        using var builder = ProtocolTestData.ToBuilder(data);

        var ours = Protobuf(builder);
        var theirs = ProtocolTestData.ToGenerated(data).ToByteArray();

        Assert.Equal(Convert.ToHexStringLower(theirs), Convert.ToHexStringLower(ours));
        Assert.Equal(theirs.Length, builder.ProtobufLength);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void WriteProtobuf_GeneratedInputs_GeneratedParserReadsThemBack(int seed)
    {
        var data = ProtocolTestData.Generate(seed);
        using var builder = ProtocolTestData.ToBuilder(data);

        var parsed = Generated.PushRequest.Parser.ParseFrom(Protobuf(builder));

        Assert.Equal(ProtocolTestData.ToGenerated(data), parsed);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(999_999_999L)]
    [InlineData(1_000_000_000L)]
    [InlineData(-1L)]
    [InlineData(-1_000_000_000L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void WriteProtobuf_EdgeTimestamps_MatchGeneratedSerializer(long timestamp)
    {
        var labels = LabelSet.Create(new Label("job", "x"));
        List<TestStream> data = [new(labels, [new TestEntry(timestamp, "line"u8.ToArray(), [])])];
        using var builder = ProtocolTestData.ToBuilder(data);

        Assert.Equal(ProtocolTestData.ToGenerated(data).ToByteArray(), Protobuf(builder));
    }

    [Fact]
    public void Add_InterleavedStreams_GroupsByStreamInArrivalOrder()
    {
        using var builder = new PushRequestBuilder();
        var a = LabelSet.Create(new Label("app", "a"));
        var b = LabelSet.Create(new Label("app", "b"));
        builder.Add(a, 1, "a1"u8, (LogFields?)null);
        builder.Add(b, 2, "b1"u8, (LogFields?)null);
        builder.Add(LabelSet.Create(new Label("app", "a")), 3, "a2"u8, (LogFields?)null);

        var parsed = Generated.PushRequest.Parser.ParseFrom(Protobuf(builder));

        Assert.Equal(2, builder.StreamCount);
        Assert.Equal(3, builder.EntryCount);
        Assert.Equal(["a1", "a2"], parsed.Streams[0].Entries.Select(e => e.Line));
        Assert.Equal(["b1"], parsed.Streams[1].Entries.Select(e => e.Line));
    }

    [Fact]
    public void Clear_ThenReuse_ProducesOnlyNewEntries()
    {
        using var builder = new PushRequestBuilder();
        var a = LabelSet.Create(new Label("app", "a"));
        builder.Add(a, 1, "old"u8, (LogFields?)null);
        builder.Clear();
        builder.Add(a, 2, "new"u8, (LogFields?)null);

        var parsed = Generated.PushRequest.Parser.ParseFrom(Protobuf(builder));

        Assert.Equal("new", Assert.Single(Assert.Single(parsed.Streams).Entries).Line);
        Assert.Equal(3, builder.LineBytes);
    }

    [Fact]
    public void Clear_Empty_WritesNothing()
    {
        using var builder = new PushRequestBuilder();

        Assert.Empty(Protobuf(builder));
        Assert.Equal(0, builder.ProtobufLength);
    }

    [Fact]
    public void EstimateGrowth_IsAnUpperBound()
    {
        using var builder = new PushRequestBuilder();
        var random = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            var labels = LabelSet.Create(new Label("app", "a" + random.Next(10)));
            var line = new byte[random.Next(0, 300)];
            var before = builder.ProtobufLength;
            var bound = builder.EstimateGrowth(labels, line.Length, 11, 1);
            var entry = new LogEntry { Timestamp = random.NextInt64() };
            entry.SetLine(line);
            entry.Metadata.Set("trace_id", "abc"u8);

            builder.Add(labels, entry);

            Assert.True(builder.ProtobufLength - before <= bound, $"grew {builder.ProtobufLength - before} > bound {bound}");
        }
    }

    [Fact]
    public void WriteJson_KnownRequest_MatchesLokiShape()
    {
        using var builder = new PushRequestBuilder();
        var labels = LabelSet.Create(new Label("app", "api"), new Label("namespace", "prod"));
        var metadata = new LogFields();
        metadata.Set("trace_id", "abc"u8);
        builder.Add(labels, 1_732_611_600_000_000_000, "a \"line\" é"u8, metadata);
        builder.Add(labels, 1_732_611_600_000_000_001, "second"u8, (LogFields?)null);

        var json = new ArrayBufferWriter<byte>();
        builder.WriteJson(json);

        Assert.Equal(
            """{"streams":[{"stream":{"app":"api","namespace":"prod"},"values":[["1732611600000000000","a \"line\" é",{"trace_id":"abc"}],["1732611600000000001","second"]]}]}""",
            Encoding.UTF8.GetString(json.WrittenSpan));
    }

    [Fact]
    public void WriteJson_InvalidUtf8Line_WritesReplacementCharacter()
    {
        using var builder = new PushRequestBuilder();
        builder.Add(LabelSet.Create(new Label("app", "a")), 5, [0x61, 0xFF, 0x62], (LogFields?)null);

        var json = new ArrayBufferWriter<byte>();
        builder.WriteJson(json);

        Assert.Contains("\"a\uFFFDb\"", Encoding.UTF8.GetString(json.WrittenSpan));
    }

    internal static byte[] Protobuf(PushRequestBuilder builder)
    {
        var output = new ArrayBufferWriter<byte>();
        builder.WriteProtobuf(output);
        var viaSpan = new byte[builder.ProtobufLength];
        Assert.Equal(viaSpan.Length, builder.WriteProtobuf(viaSpan));
        Assert.Equal(output.WrittenSpan.ToArray(), viaSpan);
        return viaSpan;
    }
}
