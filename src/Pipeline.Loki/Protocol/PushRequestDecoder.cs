using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Pipeline.Model;
using Snappier;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// Decodes Loki push bodies (snappy-compressed protobuf, JSON, gzip JSON) into a <see cref="DecodedPush"/>.
/// A malformed body yields an error that says what was wrong and where, never an unexpected exception, and no
/// allocation is ever sized by a length the body declares beyond what it actually holds (or the configured cap).
/// </summary>
public static class PushRequestDecoder
{
    private const int MaxShownLabels = 200;

    /// <summary>Decodes a body by its <c>Content-Type</c> and <c>Content-Encoding</c>, as Loki's push handler does.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="contentType">The <c>Content-Type</c> (JSON for <c>application/json</c>, else protobuf).</param>
    /// <param name="contentEncoding">The <c>Content-Encoding</c> (<c>gzip</c>, or none).</param>
    /// <param name="push">The decoded request, when valid; dispose it when done.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <param name="options">Limits, or <see langword="null"/> for the defaults.</param>
    /// <returns>Whether the body was decoded.</returns>
    public static bool TryDecode(
        ReadOnlySpan<byte> body, string? contentType, string? contentEncoding,
        [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error, PushDecoderOptions? options = null)
    {
        options ??= PushDecoderOptions.Default;
        var mediaType = MediaType(contentType);
        var json = mediaType.Equals(LokiPush.JsonContentType, StringComparison.OrdinalIgnoreCase);
        if (!json && mediaType.Length > 0 && !mediaType.Equals(LokiPush.ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            push = null;
            error = $"unsupported Content-Type '{contentType}': expected {LokiPush.ProtobufContentType} or {LokiPush.JsonContentType}";
            return false;
        }

        var encoding = contentEncoding?.Trim() ?? string.Empty;
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase)
            || (!json && encoding.Equals("snappy", StringComparison.OrdinalIgnoreCase)))
        {
            return json ? TryDecodeJson(body, out push, out error) : TryDecodeSnappyProtobuf(body, out push, out error, options);
        }

        if (!encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            push = null;
            error = $"unsupported Content-Encoding '{contentEncoding}': expected gzip or none";
            return false;
        }

        if (!TryGunzip(body, options, out var inflated, out var length, out error))
        {
            push = null;
            return false;
        }

        try
        {
            var content = inflated.AsSpan(0, length);
            return json ? TryDecodeJson(content, out push, out error) : TryDecodeSnappyProtobuf(content, out push, out error, options);
        }
        finally
        {
            PushBufferPool.Instance.Return(inflated);
        }
    }

    /// <summary>Decodes a body like <see cref="TryDecode"/>, throwing on a malformed one.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="contentType">The <c>Content-Type</c>.</param>
    /// <param name="contentEncoding">The <c>Content-Encoding</c>.</param>
    /// <param name="options">Limits, or <see langword="null"/> for the defaults.</param>
    /// <returns>The decoded request; dispose it when done.</returns>
    /// <exception cref="PushFormatException">The body is malformed; the message says how.</exception>
    public static DecodedPush Decode(ReadOnlySpan<byte> body, string? contentType, string? contentEncoding, PushDecoderOptions? options = null) =>
        TryDecode(body, contentType, contentEncoding, out var push, out var error, options) ? push : throw new PushFormatException(error);

    /// <summary>Decodes a snappy (block format) compressed protobuf <c>PushRequest</c>.</summary>
    /// <param name="body">The compressed body.</param>
    /// <param name="push">The decoded request, when valid; dispose it when done.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <param name="options">Limits, or <see langword="null"/> for the defaults.</param>
    /// <returns>Whether the body was decoded.</returns>
    public static bool TryDecodeSnappyProtobuf(
        ReadOnlySpan<byte> body, [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error, PushDecoderOptions? options = null)
    {
        options ??= PushDecoderOptions.Default;
        push = null;
        if (body.IsEmpty)
        {
            error = "empty body: expected a snappy-compressed PushRequest";
            return false;
        }

        int length;
        try
        {
            length = Snappy.GetUncompressedLength(body);
        }
        catch (InvalidDataException e)
        {
            error = $"invalid snappy block: bad length header ({e.Message})";
            return false;
        }

        if (length < 0 || length > options.MaxDecompressedBytes)
        {
            error = $"snappy block declares {(uint)length} uncompressed bytes, more than the maximum of {options.MaxDecompressedBytes}";
            return false;
        }

        var buffer = PushBufferPool.Instance.Rent(Math.Max(length, 1));
        int written;
        try
        {
            written = Snappy.Decompress(body, buffer.AsSpan(0, length));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            PushBufferPool.Instance.Return(buffer);
            error = $"invalid snappy block (truncated or corrupt): {e.Message}";
            return false;
        }

        if (written != length)
        {
            PushBufferPool.Instance.Return(buffer);
            error = $"invalid snappy block: declared {length} uncompressed bytes but produced {written}";
            return false;
        }

        return TryParseProtobuf(buffer, length, out push, out error);
    }

    /// <summary>Decodes an uncompressed protobuf <c>PushRequest</c> (the lines are copied into a pooled buffer).</summary>
    /// <param name="protobuf">The message bytes.</param>
    /// <param name="push">The decoded request, when valid; dispose it when done.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <returns>Whether the message was decoded.</returns>
    public static bool TryDecodeProtobuf(ReadOnlySpan<byte> protobuf, [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error)
    {
        var buffer = PushBufferPool.Instance.Rent(Math.Max(protobuf.Length, 1));
        protobuf.CopyTo(buffer);
        return TryParseProtobuf(buffer, protobuf.Length, out push, out error);
    }

    /// <summary>Decodes a gzip-compressed JSON push body.</summary>
    /// <param name="body">The compressed body.</param>
    /// <param name="push">The decoded request, when valid; dispose it when done.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <param name="options">Limits, or <see langword="null"/> for the defaults.</param>
    /// <returns>Whether the body was decoded.</returns>
    public static bool TryDecodeGzipJson(
        ReadOnlySpan<byte> body, [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error, PushDecoderOptions? options = null)
    {
        if (!TryGunzip(body, options ?? PushDecoderOptions.Default, out var inflated, out var length, out error))
        {
            push = null;
            return false;
        }

        try
        {
            return TryDecodeJson(inflated.AsSpan(0, length), out push, out error);
        }
        finally
        {
            PushBufferPool.Instance.Return(inflated);
        }
    }

    /// <summary>
    /// Decodes a JSON push body <c>{"streams":[{"stream":{...},"values":[["&lt;ns&gt;","line",{metadata}]]}]}</c>.
    /// As in Loki, a timestamp must be a string of Unix nanoseconds; a JSON number is an error.
    /// </summary>
    /// <param name="json">The body.</param>
    /// <param name="push">The decoded request, when valid; dispose it when done.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <returns>Whether the body was decoded.</returns>
    public static bool TryDecodeJson(ReadOnlySpan<byte> json, [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error)
    {
        // Unescaped string content is never longer than its escaped form, so the body's length bounds the arena.
        var arena = PushBufferPool.Instance.Rent(Math.Max(json.Length, 1));
        try
        {
            var entries = new DecodedEntryStore();
            List<DecodedStreamData> streams;
            try
            {
                streams = JsonParser.Parse(json, arena, entries);
            }
            catch
            {
                entries.Return();
                throw;
            }

            push = new DecodedPush(streams, entries, arena);
            error = null;
            return true;
        }
        catch (Exception e) when (e is PushFormatException or JsonException or InvalidOperationException)
        {
            PushBufferPool.Instance.Return(arena);
            push = null;
            error = e is PushFormatException ? e.Message : $"invalid JSON: {e.Message}";
            return false;
        }
    }

    internal static long ReadTimestamp(ReadOnlySpan<byte> message, int offset)
    {
        // The usual encoding, seconds then nanos as short varints: read without the general loop (once per entry).
        if (TryReadTimestampFast(message, out var fast))
        {
            return fast;
        }

        var reader = new ProtoReader(message, offset);
        long seconds = 0;
        long nanos = 0;
        while (!reader.End)
        {
            var at = reader.Offset;
            var (field, wireType) = reader.ReadTag("Timestamp");
            switch (field)
            {
                case 1:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireVarint, "Timestamp", "seconds", at);
                    seconds = (long)reader.ReadVarint();
                    break;
                case 2:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireVarint, "Timestamp", "nanos", at);
                    nanos = (int)reader.ReadVarint();
                    break;
                default:
                    reader.Skip(wireType, field, "Timestamp");
                    break;
            }
        }

        if (nanos is < 0 or >= ProtoWire.NanosPerSecond)
        {
            throw new PushFormatException($"Timestamp at offset {offset}: nanos {nanos} is outside [0, 999999999]");
        }

        if (seconds > (long.MaxValue - nanos) / ProtoWire.NanosPerSecond || seconds < long.MinValue / ProtoWire.NanosPerSecond)
        {
            throw new PushFormatException($"Timestamp at offset {offset}: {seconds} seconds is outside the range of Unix nanoseconds");
        }

        return (seconds * ProtoWire.NanosPerSecond) + nanos;
    }

    private static bool TryReadTimestampFast(ReadOnlySpan<byte> message, out long timestamp)
    {
        // 0x08 <seconds: up to 5 bytes> 0x10 <nanos: up to 5 bytes>, both fields present, nothing else.
        timestamp = 0;
        if (message.Length < 4 || message[0] != 0x08)
        {
            return false;
        }

        var position = 1;
        if (!TryShortVarint(message, ref position, out var seconds) || position >= message.Length || message[position] != 0x10)
        {
            return false;
        }

        position++;
        if (!TryShortVarint(message, ref position, out var nanos) || position != message.Length || nanos >= ProtoWire.NanosPerSecond)
        {
            return false;
        }

        timestamp = ((long)seconds * ProtoWire.NanosPerSecond) + (long)nanos;
        return true;

        static bool TryShortVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
        {
            value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                if (position >= data.Length)
                {
                    return false;
                }

                var b = data[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static bool TryParseProtobuf(byte[] buffer, int length, [NotNullWhen(true)] out DecodedPush? push, [NotNullWhen(false)] out string? error)
    {
        try
        {
            var entries = new DecodedEntryStore(length);
            try
            {
                push = new DecodedPush(ParsePushRequest(buffer, length, entries), entries, buffer);
            }
            catch
            {
                entries.Return();
                throw;
            }

            error = null;
            return true;
        }
        catch (PushFormatException e)
        {
            PushBufferPool.Instance.Return(buffer);
            push = null;
            error = $"invalid PushRequest: {e.Message}";
            return false;
        }
    }

    private static List<DecodedStreamData> ParsePushRequest(byte[] buffer, int length, DecodedEntryStore entries)
    {
        var streams = new List<DecodedStreamData>();
        var metadata = new List<Label>();
        var reader = new ProtoReader(buffer.AsSpan(0, length));
        while (!reader.End)
        {
            var at = reader.Offset;
            var (field, wireType) = reader.ReadTag("PushRequest");
            if (field == 1)
            {
                ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, "PushRequest", "streams", at);
                var stream = reader.ReadLengthDelimited(out var offset);
                streams.Add(ParseStream(buffer, stream, offset, streams.Count, metadata, entries));
            }
            else
            {
                // Includes field 2 (format), which Loki sets internally and clients leave empty.
                reader.Skip(wireType, field, "PushRequest");
            }
        }

        return streams;
    }

    private static DecodedStreamData ParseStream(byte[] buffer, ReadOnlySpan<byte> message, int offset, int index, List<Label> metadata, DecodedEntryStore entries)
    {
        var reader = new ProtoReader(message, offset);
        var labels = ReadOnlySpan<byte>.Empty;
        var labelsOffset = offset;
        var start = entries.Count;
        while (!reader.End)
        {
            var at = reader.Offset;
            var (field, wireType) = reader.ReadTag("StreamAdapter");
            switch (field)
            {
                case 1:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, index, false, "labels", at);
                    labels = reader.ReadLengthDelimited(out labelsOffset);
                    break;
                case 2:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, index, false, "entries", at);
                    var entry = reader.ReadLengthDelimited(out var entryOffset);
                    entries.Add(ParseEntry(buffer, entry, entryOffset, index, metadata));
                    break;
                case 3:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireVarint, index, false, "hash", at);
                    reader.ReadVarint();
                    break;
                default:
                    reader.Skip(wireType, field, "StreamAdapter");
                    break;
            }
        }

        return new DecodedStreamData(ParseLabels(labels, labelsOffset, index), entries, start, entries.Count - start);
    }

    private static LabelSet ParseLabels(ReadOnlySpan<byte> utf8, int offset, int index)
    {
        if (utf8.IsEmpty)
        {
            throw new PushFormatException($"stream {index}: no labels; every stream needs at least one label");
        }

        if (!Utf8.IsValid(utf8))
        {
            throw new PushFormatException($"stream {index}: labels at offset {offset} are not valid UTF-8");
        }

        var text = Encoding.UTF8.GetString(utf8);
        if (!LabelSet.TryParse(text, out var set, out var error))
        {
            throw new PushFormatException($"stream {index}: cannot parse labels '{Shorten(text)}': {error}");
        }

        if (set.Count == 0)
        {
            throw new PushFormatException($"stream {index}: no labels; every stream needs at least one label");
        }

        return set;
    }

    private static DecodedEntry ParseEntry(byte[] buffer, ReadOnlySpan<byte> message, int offset, int stream, List<Label> metadata)
    {
        if (TryParseEntryFast(buffer, message, offset, out var usual))
        {
            return usual;
        }

        var reader = new ProtoReader(message, offset);
        long timestamp = 0;
        var lineOffset = 0;
        var lineLength = 0;
        metadata.Clear();
        while (!reader.End)
        {
            var at = reader.Offset;
            var (field, wireType) = reader.ReadTag("EntryAdapter");
            switch (field)
            {
                case 1:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, stream, true, "timestamp", at);
                    var ts = reader.ReadLengthDelimited(out var tsOffset);
                    timestamp = ReadTimestamp(ts, tsOffset);
                    break;
                case 2:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, stream, true, "line", at);
                    lineLength = reader.ReadLengthDelimited(out lineOffset).Length;
                    break;
                case 3:
                    ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, stream, true, "structuredMetadata", at);
                    var pair = reader.ReadLengthDelimited(out var pairOffset);
                    metadata.Add(ParsePair(pair, pairOffset));
                    break;
                default:
                    // Field 4 (parsed) is query-side only; skipped like any unknown field.
                    reader.Skip(wireType, field, "EntryAdapter");
                    break;
            }
        }

        return new DecodedEntry(timestamp, new ReadOnlyMemory<byte>(buffer, lineOffset, lineLength), metadata.Count == 0 ? null : [.. metadata]);
    }

    /// <summary>
    /// The usual entry — <c>0x0A &lt;timestamp length&gt; &lt;timestamp&gt; 0x12 &lt;line length&gt; &lt;line&gt;</c>, nothing
    /// else — read without the general field loop (once per entry); false leaves any other shape to the general reader.
    /// </summary>
    private static bool TryParseEntryFast(byte[] buffer, ReadOnlySpan<byte> message, int offset, out DecodedEntry entry)
    {
        entry = default;
        if (message.Length < 4 || message[0] != 0x0A)
        {
            return false;
        }

        int timestampLength = message[1];
        var lineTag = 2 + timestampLength;
        if (timestampLength >= 0x80 || lineTag + 1 >= message.Length || message[lineTag] != 0x12
            || !TryReadTimestampFast(message.Slice(2, timestampLength), out var timestamp))
        {
            return false;
        }

        var position = lineTag + 1;
        uint length = message[position++];
        if (length >= 0x80)
        {
            if (position >= message.Length)
            {
                return false;
            }

            uint second = message[position++];
            if (second >= 0x80)
            {
                if (position >= message.Length || message[position] >= 0x80)
                {
                    return false;
                }

                second = (second & 0x7F) | ((uint)message[position++] << 7);
            }

            length = (length & 0x7F) | (second << 7);
        }

        if (length != (uint)(message.Length - position))
        {
            return false;
        }

        entry = new DecodedEntry(timestamp, new ReadOnlyMemory<byte>(buffer, offset + position, (int)length), null);
        return true;
    }

    private static Label ParsePair(ReadOnlySpan<byte> message, int offset)
    {
        var reader = new ProtoReader(message, offset);
        string name = string.Empty, value = string.Empty;
        while (!reader.End)
        {
            var at = reader.Offset;
            var (field, wireType) = reader.ReadTag("LabelPairAdapter");
            if (field is 1 or 2)
            {
                ProtoReader.ExpectWireType(wireType, ProtoWire.WireLengthDelimited, "LabelPairAdapter", field == 1 ? "name" : "value", at);
                var bytes = reader.ReadLengthDelimited(out var bytesOffset);
                if (!Utf8.IsValid(bytes))
                {
                    throw new PushFormatException($"structured metadata {(field == 1 ? "name" : "value")} at offset {bytesOffset} is not valid UTF-8");
                }

                if (field == 1)
                {
                    name = Encoding.UTF8.GetString(bytes);
                }
                else
                {
                    value = Encoding.UTF8.GetString(bytes);
                }
            }
            else
            {
                reader.Skip(wireType, field, "LabelPairAdapter");
            }
        }

        if (name.Length == 0)
        {
            throw new PushFormatException($"structured metadata at offset {offset} has an empty name");
        }

        return new Label(name, value);
    }

    private static bool TryGunzip(ReadOnlySpan<byte> body, PushDecoderOptions options, out byte[] inflated, out int length, [NotNullWhen(false)] out string? error)
    {
        var compressed = PushBufferPool.Instance.Rent(Math.Max(body.Length, 1));
        body.CopyTo(compressed);
        inflated = PushBufferPool.Instance.Rent(Math.Clamp(body.Length * 4, 4096, options.MaxDecompressedBytes));
        length = 0;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed, 0, body.Length, writable: false), CompressionMode.Decompress);
            while (true)
            {
                if (length == inflated.Length)
                {
                    if (length >= options.MaxDecompressedBytes)
                    {
                        // Full at the cap: one more byte means the body is too large.
                        if (gzip.ReadByte() < 0)
                        {
                            break;
                        }

                        throw new PushFormatException($"gzip body inflates to more than the maximum of {options.MaxDecompressedBytes} bytes");
                    }

                    var grown = PushBufferPool.Instance.Rent((int)Math.Min((long)inflated.Length * 2, options.MaxDecompressedBytes));
                    inflated.AsSpan(0, length).CopyTo(grown);
                    PushBufferPool.Instance.Return(inflated);
                    inflated = grown;
                }

                var limit = Math.Min(inflated.Length, options.MaxDecompressedBytes);
                if (length == limit)
                {
                    continue;
                }

                var read = gzip.Read(inflated, length, limit - length);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            error = null;
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or PushFormatException or IOException)
        {
            PushBufferPool.Instance.Return(inflated);
            inflated = [];
            length = 0;
            error = e is PushFormatException ? e.Message : $"invalid gzip body: {e.Message}";
            return false;
        }
        finally
        {
            PushBufferPool.Instance.Return(compressed);
        }
    }

    private static ReadOnlySpan<char> MediaType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return [];
        }

        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        return (semicolon >= 0 ? span[..semicolon] : span).Trim();
    }

    internal static string Shorten(string text) => text.Length <= MaxShownLabels ? text : string.Concat(text.AsSpan(0, MaxShownLabels), "...");

    /// <summary>The JSON push body parser.</summary>
    private static class JsonParser
    {
        public static List<DecodedStreamData> Parse(ReadOnlySpan<byte> json, byte[] arena, DecodedEntryStore entries)
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            var streams = new List<DecodedStreamData>();
            var arenaUsed = 0;
            Read(ref reader);
            Expect(ref reader, JsonTokenType.StartObject, "the body");
            var sawStreams = false;
            while (Read(ref reader) != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("streams"u8))
                {
                    sawStreams = true;
                    Read(ref reader);
                    Expect(ref reader, JsonTokenType.StartArray, "'streams'");
                    while (Read(ref reader) != JsonTokenType.EndArray)
                    {
                        streams.Add(ParseStream(ref reader, arena, ref arenaUsed, streams.Count, entries));
                    }
                }
                else
                {
                    Read(ref reader);
                    reader.Skip();
                }
            }

            if (!sawStreams)
            {
                throw new PushFormatException("the body has no 'streams' array");
            }

            return streams;
        }

        private static DecodedStreamData ParseStream(ref Utf8JsonReader reader, byte[] arena, ref int arenaUsed, int index, DecodedEntryStore entries)
        {
            Expect(ref reader, JsonTokenType.StartObject, $"stream {index}");
            List<Label>? labels = null;
            var start = entries.Count;
            while (Read(ref reader) != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("stream"u8))
                {
                    Read(ref reader);
                    labels = ParsePairs(ref reader, $"stream {index} 'stream'", index, 0);
                }
                else if (reader.ValueTextEquals("values"u8))
                {
                    Read(ref reader);
                    Expect(ref reader, JsonTokenType.StartArray, $"stream {index} 'values'");
                    while (Read(ref reader) != JsonTokenType.EndArray)
                    {
                        entries.Add(ParseValue(ref reader, arena, ref arenaUsed, index, entries.Count - start));
                    }
                }
                else
                {
                    Read(ref reader);
                    reader.Skip();
                }
            }

            if (labels is null || labels.Count == 0)
            {
                throw new PushFormatException($"stream {index}: no labels; every stream needs a non-empty 'stream' object");
            }

            if (!LabelSet.TryCreate(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(labels), out var set, out var error))
            {
                throw new PushFormatException($"stream {index}: invalid labels: {error}");
            }

            if (set.Count == 0)
            {
                throw new PushFormatException($"stream {index}: every label value is empty");
            }

            return new DecodedStreamData(set, entries, start, entries.Count - start);
        }

        private static DecodedEntry ParseValue(ref Utf8JsonReader reader, byte[] arena, ref int arenaUsed, int stream, int index)
        {
            // Messages are built only on error: this runs once per entry.
            ExpectValue(ref reader, JsonTokenType.StartArray, stream, index, string.Empty);
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.Number)
            {
                throw new PushFormatException($"{Where(stream, index)}: the timestamp is a JSON number; it must be a string of Unix nanoseconds");
            }

            ExpectValue(ref reader, JsonTokenType.String, stream, index, " timestamp");
            var timestamp = ParseTimestamp(ref reader, stream, index);
            Read(ref reader);
            ExpectValue(ref reader, JsonTokenType.String, stream, index, " line");
            var written = reader.CopyString(arena.AsSpan(arenaUsed));
            var line = new ReadOnlyMemory<byte>(arena, arenaUsed, written);
            arenaUsed += written;
            Label[]? metadata = null;
            if (Read(ref reader) != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.Null)
                {
                    ExpectValue(ref reader, JsonTokenType.StartObject, stream, index, " structured metadata");
                    var pairs = ParsePairs(ref reader, null, stream, index);
                    foreach (var pair in pairs)
                    {
                        if (pair.Name.Length == 0)
                        {
                            throw new PushFormatException($"{Where(stream, index)}: structured metadata has an empty name");
                        }
                    }

                    metadata = pairs.Count == 0 ? null : [.. pairs];
                }

                if (Read(ref reader) != JsonTokenType.EndArray)
                {
                    throw new PushFormatException($"{Where(stream, index)}: expected at most 3 elements [timestamp, line, metadata]");
                }
            }

            return new DecodedEntry(timestamp, line, metadata);
        }

        private static string Where(int stream, int index) => $"stream {stream} value {index}";

        private static void ExpectValue(ref Utf8JsonReader reader, JsonTokenType expected, int stream, int index, string what)
        {
            if (reader.TokenType != expected)
            {
                Expect(ref reader, expected, Where(stream, index) + what);
            }
        }

        private static long ParseTimestamp(ref Utf8JsonReader reader, int stream, int index)
        {
            Span<byte> digits = stackalloc byte[32];
            scoped ReadOnlySpan<byte> text;
            if (reader.ValueIsEscaped || reader.HasValueSequence)
            {
                if (reader.ValueSpan.Length > 64)
                {
                    throw new PushFormatException($"{Where(stream, index)}: the timestamp is not an integer of Unix nanoseconds");
                }

                var copied = reader.CopyString(digits);
                text = digits[..copied];
            }
            else
            {
                text = reader.ValueSpan;
            }

            if (!Utf8Parser.TryParse(text, out long value, out var consumed) || consumed != text.Length)
            {
                var shown = Encoding.UTF8.GetString(text.Length > 40 ? text[..40] : text);
                throw new PushFormatException($"{Where(stream, index)}: timestamp '{shown}' is not an integer of Unix nanoseconds");
            }

            return value;
        }

        private static List<Label> ParsePairs(ref Utf8JsonReader reader, string? where, int stream, int index)
        {
            Expect(ref reader, JsonTokenType.StartObject, where ?? string.Empty);
            var pairs = new List<Label>();
            while (Read(ref reader) != JsonTokenType.EndObject)
            {
                var name = reader.GetString()!;
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.String)
                {
                    var context = where ?? Where(stream, index) + " structured metadata";
                    throw new PushFormatException($"{context}: the value of '{name}' is {reader.TokenType}, expected a string");
                }

                pairs.Add(new Label(name, reader.GetString()!));
            }

            return pairs;
        }

        private static JsonTokenType Read(ref Utf8JsonReader reader)
        {
            if (!reader.Read())
            {
                throw new PushFormatException($"unexpected end of JSON at byte {reader.BytesConsumed}");
            }

            return reader.TokenType;
        }

        private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected, string what)
        {
            if (reader.TokenType != expected)
            {
                throw new PushFormatException($"{what} at byte {reader.TokenStartIndex}: expected {expected}, got {reader.TokenType}");
            }
        }
    }
}
