using System.Text.Json;

namespace Pipeline.LogQL.Extraction;

/// <summary>
/// LogQL's <c>| unpack</c>: a JSON object written by Promtail's <c>pack</c> stage, whose <c>_entry</c> string is the
/// original line and whose other string keys were labels (set through <see cref="IExtractionTarget.SetKey"/>); other
/// values are skipped. One instance unpacks one input at a time.
/// </summary>
internal sealed class UnpackExtractor
{
    private byte[] _entry = new byte[256];
    private byte[] _scratch = new byte[256];

    /// <summary>Unpacks <paramref name="input"/>.</summary>
    /// <param name="input">The packed line.</param>
    /// <param name="target">Where the labels go.</param>
    /// <param name="entry">The <c>_entry</c> value (valid until the next call), or empty when there is none.</param>
    /// <param name="hasEntry">Whether there is an <c>_entry</c>.</param>
    /// <param name="error">When the input is not a JSON object, what is wrong.</param>
    /// <returns>Whether the input is a JSON object.</returns>
    public bool Extract<TTarget>(ReadOnlySpan<byte> input, ref TTarget target, out ReadOnlySpan<byte> entry, out bool hasEntry, out string? error)
        where TTarget : struct, IExtractionTarget
    {
        entry = default;
        hasEntry = false;
        try
        {
            var reader = new Utf8JsonReader(input);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = JsonExtractor.NotAnObject;
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isEntry = reader.ValueTextEquals("_entry"u8);
                var keyLength = isEntry ? 0 : Copy(ref reader, ref _scratch);
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    continue;
                }

                if (isEntry)
                {
                    entry = _entry.AsSpan(0, Copy(ref reader, ref _entry));
                    hasEntry = true;
                }
                else
                {
                    // The value goes after the key in the scratch buffer.
                    var valueLength = reader.ValueSpan.Length;
                    LabelNames.Ensure(ref _scratch, keyLength + valueLength);
                    var written = reader.ValueIsEscaped ? reader.CopyString(_scratch.AsSpan(keyLength)) : Copy(reader.ValueSpan, _scratch.AsSpan(keyLength));
                    target.SetKey(_scratch.AsSpan(0, keyLength), _scratch.AsSpan(keyLength, written));
                }
            }
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return false;
        }

        error = null;
        return true;
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    /// <summary>Copies the reader's string (name or value), unescaped, to the start of <paramref name="buffer"/>.</summary>
    private static int Copy(ref Utf8JsonReader reader, ref byte[] buffer)
    {
        LabelNames.Ensure(ref buffer, reader.ValueSpan.Length);
        return reader.ValueIsEscaped ? reader.CopyString(buffer) : Copy(reader.ValueSpan, buffer);
    }
}
