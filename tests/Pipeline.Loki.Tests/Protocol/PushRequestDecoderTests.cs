using System.Buffers;
using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Snappier;

namespace Pipeline.Loki.Tests.Protocol;

public class PushRequestDecoderTests
{
    public static TheoryData<int> Seeds => [1, 2, 3, 4, 5, 17, 42, 100, 2024, 65535];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void SnappyProtobuf_DecodeOfEncode_IsIdentity(int seed)
    {
        var data = ProtocolTestData.Generate(seed);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteSnappyProtobuf(builder, body);

        Assert.True(PushRequestDecoder.TryDecodeSnappyProtobuf(body.WrittenSpan, out var push, out var error), error);
        using (push)
        {
            ProtocolTestData.AssertEqual(data, push);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Json_DecodeOfEncode_IsIdentity(int seed)
    {
        var data = ProtocolTestData.Generate(seed);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteJson(builder, body);

        Assert.True(PushRequestDecoder.TryDecode(body.WrittenSpan, "application/json; charset=utf-8", null, out var push, out var error), error);
        using (push)
        {
            ProtocolTestData.AssertEqual(data, push);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GzipJson_DecodeOfEncode_IsIdentity(int seed)
    {
        var data = ProtocolTestData.Generate(seed);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteJson(builder, body, gzip: true);

        Assert.True(PushRequestDecoder.TryDecode(body.WrittenSpan, "application/json", "gzip", out var push, out var error), error);
        using (push)
        {
            ProtocolTestData.AssertEqual(data, push);
        }
    }

    [Fact]
    public void SnappyProtobuf_LineLengthsAtVarintBoundaries_DecodeExactly()
    {
        // The usual entry shape has a fast reader; lengths whose varint takes 1, 2 and 3 bytes, with and without
        // structured metadata (which takes the general reader), and timestamps of zero and far ahead all decode alike.
        int[] lengths = [0, 1, 127, 128, 300, 16383, 16384, 70000];
        long[] timestamps = [0, 1, 999_999_999, 1_700_000_000_123_456_789, 4_000_000_000_000_000_000];
        var labels = LabelSet.Create(new Label("job", "edge"));
        using var builder = new PushRequestBuilder();
        var expected = new List<(long Ts, byte[] Line, bool Metadata)>();
        var n = 0;
        foreach (var length in lengths)
        {
            foreach (var ts in timestamps)
            {
                var line = new byte[length];
                Array.Fill(line, (byte)('a' + (n % 26)));
                var metadata = n % 3 == 0;
                builder.Add(labels, ts, line, metadata ? [new Label("trace_id", "t" + n)] : ReadOnlySpan<Label>.Empty);
                expected.Add((ts, line, metadata));
                n++;
            }
        }

        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteSnappyProtobuf(builder, body);
        Assert.True(PushRequestDecoder.TryDecodeSnappyProtobuf(body.WrittenSpan, out var push, out var error), error);
        using (push)
        {
            var entries = push.Streams.SelectMany(s => s.Entries).ToList();
            Assert.Equal(expected.Count, entries.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Ts, entries[i].Timestamp);
                Assert.Equal(expected[i].Line, entries[i].Line.ToArray());
                Assert.Equal(expected[i].Metadata ? 1 : 0, entries[i].StructuredMetadata.Count);
            }
        }
    }

    [Fact]
    public void SnappyProtobuf_BodyIsSnappyBlockFormat_NotFramed()
    {
        var data = ProtocolTestData.Generate(9);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteSnappyProtobuf(builder, body);

        // A block starts with the varint uncompressed length; a framed stream would start with the 0xff stream identifier.
        var raw = Snappy.DecompressToArray(body.WrittenSpan);
        Assert.Equal(ProtocolTestData.ToGenerated(data).ToByteArray(), raw);
    }

    [Fact]
    public void SnappyProtobuf_GeneratedSerializerBody_Decodes()
    {
        var data = ProtocolTestData.Generate(11);
        var body = Snappy.CompressToArray(ProtocolTestData.ToGenerated(data).ToByteArray());

        using var push = PushRequestDecoder.Decode(body, "application/x-protobuf", null);

        ProtocolTestData.AssertEqual(data, push);
    }

    [Fact]
    public void Protobuf_UnknownFieldsAndFormatAndParsed_AreSkipped()
    {
        var request = ProtocolTestData.ToGenerated(ProtocolTestData.Generate(12));
        request.Format = "loki";
        request.Streams[0].Hash = 12345;
        request.Streams[0].Entries[0].Parsed.Add(new Pipeline.Loki.Protocol.Generated.LabelPairAdapter { Name = "p", Value = "q" });
        var bytes = request.ToByteArray().Concat(new byte[] { 0x78, 0x05, 0x85, 0x01, 0x01, 0x02, 0x03, 0x04 }).ToArray(); // field 15 varint, field 16 fixed32

        Assert.True(PushRequestDecoder.TryDecodeProtobuf(bytes, out var push, out var error), error);
        using (push)
        {
            Assert.Equal(request.Streams.Count, push.Streams.Count);
        }
    }

    [Fact]
    public void Decode_EmptyPushRequest_HasNoStreams()
    {
        using var push = PushRequestDecoder.Decode(Snappy.CompressToArray([]), null, null);

        Assert.Empty(push.Streams);
    }

    public static TheoryData<string, byte[], string> MalformedProtobuf => new()
    {
        { "varint overflow", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "overflows 64 bits" },
        { "varint longer than 10 bytes", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00], "overflows 64 bits" },
        { "truncated varint", [0x0A, 0xFF], "truncated varint at offset 1" },
        { "2 GB length prefix", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00], "length 2147483647 at offset 1 exceeds the 1 bytes left" },
        { "huge 64-bit length", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "exceeds the 0 bytes left" },
        { "streams as varint", [0x08, 0x01], "'streams' at offset 0 has wire type 0 (varint), expected 2 (length-delimited)" },
        { "labels as fixed64", [0x0A, 0x09, 0x09, 1, 2, 3, 4, 5, 6, 7, 8], "'labels' at offset 2 has wire type 1 (64-bit)" },
        { "hash as bytes", [0x0A, 0x02, 0x1A, 0x00], "'hash' at offset 2 has wire type 2" },
        { "group wire type", [0x1B], "unsupported wire type 3" },
        { "field number zero", [0x00, 0x00], "invalid field number 0" },
        { "truncated fixed32", [0x15, 0x01], "truncated fixed-width field" },
        { "labels not UTF-8", [0x0A, 0x03, 0x0A, 0x01, 0xFF], "labels at offset 4 are not valid UTF-8" },
        { "unparsable labels", Stream("{app=api}"u8), "cannot parse labels '{app=api}'" },
        { "empty labels", Stream("{}"u8), "no labels" },
        { "missing labels", [0x0A, 0x00], "no labels" },
        { "nanos out of range", StreamWithEntry([0x0A, 0x06, 0x10, 0x80, 0x94, 0xEB, 0xDC, 0x03]), "nanos 1000000000 is outside" },
        { "seconds out of range", StreamWithEntry([0x0A, 0x0A, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), "outside the range of Unix nanoseconds" },
        { "timestamp as varint", StreamWithEntry([0x08, 0x01]), "'timestamp' at offset" },
        { "metadata name not UTF-8", StreamWithEntry([0x1A, 0x03, 0x0A, 0x01, 0xC3]), "structured metadata name at offset" },
        { "metadata without name", StreamWithEntry([0x1A, 0x03, 0x12, 0x01, 0x61]), "has an empty name" },
        { "entry length beyond stream", [0x0A, 0x0C, 0x0A, 0x07, .. "{a=\"b\"}"u8, 0x12, 0x7F, 0x00], "length 127 at offset" },
    };

    [Theory]
    [MemberData(nameof(MalformedProtobuf))]
    public void SnappyProtobuf_Malformed_GivesPreciseError(string name, byte[] protobuf, string expected)
    {
        var ok = PushRequestDecoder.TryDecodeSnappyProtobuf(Snappy.CompressToArray(protobuf), out var push, out var error);

        Assert.False(ok, name);
        Assert.Null(push);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith("invalid PushRequest: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SnappyProtobuf_Truncated_GivesError()
    {
        var data = ProtocolTestData.Generate(21);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteSnappyProtobuf(builder, body);
        var bytes = body.WrittenSpan.ToArray();

        for (var cut = 1; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 37))
        {
            var ok = PushRequestDecoder.TryDecodeSnappyProtobuf(bytes.AsSpan(0, cut), out _, out var error);

            Assert.False(ok);
            Assert.Contains("snappy", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SnappyProtobuf_CorruptedBytes_NeverThrows()
    {
        var data = ProtocolTestData.Generate(22);
        using var builder = ProtocolTestData.ToBuilder(data);
        var body = new ArrayBufferWriter<byte>();
        PushBodyEncoder.WriteSnappyProtobuf(builder, body);
        var random = new Random(7);

        for (var i = 0; i < 2000; i++)
        {
            var bytes = body.WrittenSpan.ToArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            if (PushRequestDecoder.TryDecodeSnappyProtobuf(bytes, out var push, out var error))
            {
                push.Dispose();
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
        }
    }

    [Fact]
    public void Protobuf_RandomBytes_NeverThrows()
    {
        var random = new Random(8);
        for (var i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);

            if (PushRequestDecoder.TryDecodeProtobuf(bytes, out var push, out _))
            {
                push.Dispose();
            }
        }
    }

    [Fact]
    public void SnappyProtobuf_LengthHeaderAboveMaximum_RejectedBeforeAllocating()
    {
        // Snappy header declaring 2^31-1 uncompressed bytes, followed by nothing.
        byte[] body = [0xFF, 0xFF, 0xFF, 0xFF, 0x07];

        var ok = PushRequestDecoder.TryDecodeSnappyProtobuf(body, out _, out var error, new PushDecoderOptions { MaxDecompressedBytes = 1024 });

        Assert.False(ok);
        Assert.Equal("snappy block declares 2147483647 uncompressed bytes, more than the maximum of 1024", error);
    }

    [Fact]
    public void SnappyProtobuf_BadLengthHeader_GivesError()
    {
        Assert.False(PushRequestDecoder.TryDecodeSnappyProtobuf([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], out _, out var error));
        Assert.Contains("snappy", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SnappyProtobuf_EmptyBody_GivesError()
    {
        Assert.False(PushRequestDecoder.TryDecodeSnappyProtobuf([], out _, out var error));
        Assert.Equal("empty body: expected a snappy-compressed PushRequest", error);
    }

    public static TheoryData<string, string, string> MalformedJson => new()
    {
        { "timestamp as number", """{"streams":[{"stream":{"a":"b"},"values":[[1732611600000000000,"x"]]}]}""", "stream 0 value 0: the timestamp is a JSON number; it must be a string of Unix nanoseconds" },
        { "timestamp not integer", """{"streams":[{"stream":{"a":"b"},"values":[["12.5","x"]]}]}""", "timestamp '12.5' is not an integer of Unix nanoseconds" },
        { "timestamp overflow", """{"streams":[{"stream":{"a":"b"},"values":[["99999999999999999999","x"]]}]}""", "is not an integer of Unix nanoseconds" },
        { "line as number", """{"streams":[{"stream":{"a":"b"},"values":[["1",2]]}]}""", "stream 0 value 0 line at byte" },
        { "too many elements", """{"streams":[{"stream":{"a":"b"},"values":[["1","x",{},"y"]]}]}""", "expected at most 3 elements" },
        { "label value not string", """{"streams":[{"stream":{"a":1},"values":[]}]}""", "the value of 'a' is Number, expected a string" },
        { "invalid label name", """{"streams":[{"stream":{"1a":"b"},"values":[]}]}""", "stream 0: invalid labels: invalid label name '1a'" },
        { "duplicate label", """{"streams":[{"stream":{"a":"b","a":"c"},"values":[]}]}""", "duplicate label name 'a'" },
        { "no labels", """{"streams":[{"values":[]}]}""", "stream 0: no labels" },
        { "no streams", """{"other":1}""", "the body has no 'streams' array" },
        { "not an object", """[]""", "the body at byte 0: expected StartObject, got StartArray" },
        { "truncated", """{"streams":[{"stream":{"a":"b"},"values":[["1","x""", "invalid JSON" },
        { "garbage", """not json""", "invalid JSON" },
        { "metadata value not string", """{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":true}]]}]}""", "the value of 'k' is True, expected a string" },
        { "empty body", "", "invalid JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedJson))]
    public void Json_Malformed_GivesPreciseError(string name, string json, string expected)
    {
        var ok = PushRequestDecoder.TryDecodeJson(Encoding.UTF8.GetBytes(json), out var push, out var error);

        Assert.False(ok, name);
        Assert.Null(push);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_InvalidUtf8InLabel_GivesError()
    {
        byte[] json = [.. "{\"streams\":[{\"stream\":{\"a\":\""u8, 0xFF, .. "\"},\"values\":[]}]}"u8];

        Assert.False(PushRequestDecoder.TryDecodeJson(json, out _, out var error));
        Assert.Contains("invalid JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_EscapedTimestampAndLine_AreUnescaped()
    {
        var json = """{"streams":[{"values":[["\u0031\u0032","tab\there \u00e9 \ud83d\ude00",null]],"stream":{"app":"x"},"extra":[1,2]}],"format":"loki"}"""u8;

        using var push = PushRequestDecoder.Decode(json, "application/json", null);

        var entry = Assert.Single(Assert.Single(push.Streams).Entries);
        Assert.Equal(12, entry.Timestamp);
        Assert.Equal("tab\there é 😀", Encoding.UTF8.GetString(entry.Line.Span));
        Assert.Empty(entry.StructuredMetadata);
    }

    [Fact]
    public void GzipJson_Garbage_GivesError()
    {
        Assert.False(PushRequestDecoder.TryDecodeGzipJson("not gzip at all"u8, out _, out var error));
        Assert.StartsWith("invalid gzip body", error, StringComparison.Ordinal);
    }

    [Fact]
    public void GzipJson_InflatesBeyondMaximum_GivesError()
    {
        var big = new MemoryStream();
        using (var gzip = new GZipStream(big, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[1 << 20]);
        }

        var ok = PushRequestDecoder.TryDecodeGzipJson(big.ToArray(), out _, out var error, new PushDecoderOptions { MaxDecompressedBytes = 64 * 1024 });

        Assert.False(ok);
        Assert.Equal("gzip body inflates to more than the maximum of 65536 bytes", error);
    }

    [Theory]
    [InlineData("text/plain", null, "unsupported Content-Type 'text/plain'")]
    [InlineData("application/json", "br", "unsupported Content-Encoding 'br'")]
    public void TryDecode_UnsupportedHeaders_GivesError(string contentType, string? encoding, string expected)
    {
        Assert.False(PushRequestDecoder.TryDecode("{}"u8, contentType, encoding, out _, out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_Malformed_ThrowsPushFormatException()
    {
        var e = Assert.Throws<PushFormatException>(() => PushRequestDecoder.Decode("{}"u8, "application/json", null));
        Assert.Equal("the body has no 'streams' array", e.Message);
    }

    private static byte[] Stream(ReadOnlySpan<byte> labels) => [0x0A, (byte)(labels.Length + 2), 0x0A, (byte)labels.Length, .. labels];

    private static byte[] StreamWithEntry(byte[] entry)
    {
        var labels = "{a=\"b\"}"u8;
        byte[] stream = [0x0A, (byte)labels.Length, .. labels, 0x12, (byte)entry.Length, .. entry];
        return [0x0A, (byte)stream.Length, .. stream];
    }
}
