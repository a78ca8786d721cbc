using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Pipeline.LogQL.Extraction;

/// <summary>
/// JSON extraction from a UTF-8 object, in one forward pass of <see cref="Utf8JsonReader"/>, for Promtail's
/// <c>json</c> stage and LogQL's <c>| json</c>. With paths (<see cref="ForPaths"/>), every path is evaluated at once,
/// subtrees no path needs are skipped, and output <c>i</c> is path <c>i</c>: strings unescaped, numbers and booleans as
/// their JSON text, objects and arrays as their JSON text. Without paths (<see cref="ForAllKeys"/>), LogQL's rule: every
/// string, number and boolean, nested objects flattened with <c>_</c> (<c>user.id</c> becomes <c>user_id</c>), arrays
/// and nulls skipped.
/// </summary>
/// <remarks>
/// Where the two differ, an option says so: <c>missingAsEmpty</c> gives a path that is null or absent an empty value
/// (Loki) instead of none (Promtail). Text after the object makes the input malformed, as Go's decoders do; values
/// found before the error stay extracted. Nothing is allocated per input once the scratch buffers have grown. One
/// instance extracts one input at a time.
/// </remarks>
internal sealed class JsonExtractor
{
    /// <summary>What LogQL reports for an input that is not a JSON object (jsonparser's wording).</summary>
    public const string NotAnObject = "Value looks like object, but can't find closing '}' symbol";

    private const int MaxDepth = 128;

    // Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
    private static readonly bool[] s_plainStringBytes = CreatePlainStringBytes();

    private static readonly SearchValues<byte> s_hexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    private readonly Node? _root;
    private readonly bool _missingAsEmpty;
    private readonly bool[] _found;
    private byte[] _scratch = new byte[256];
    private byte[] _key = new byte[128];
    private int[] _prefixLengths = new int[8];

    // Set for the duration of ExtractKeys: the names wanted, their outputs, which outputs have a value, how many do not.
    private byte[][]? _wantedKeys;
    private int[] _wantedOutputs = [];
    private bool[] _wantedFound = [];
    private int _wantedRemaining;

    private JsonExtractor(Node? root, int outputs, bool missingAsEmpty)
    {
        _root = root;
        _missingAsEmpty = missingAsEmpty;
        _found = new bool[outputs];
    }

    /// <summary>An extractor of the given paths (see <see cref="JsonPath"/>); output <c>i</c> is <paramref name="paths"/>[i].</summary>
    /// <param name="paths">The path expressions.</param>
    /// <param name="missingAsEmpty">Whether a path that is null or absent yields an empty value (LogQL) rather than none (Promtail).</param>
    /// <exception cref="FormatException">A path is invalid.</exception>
    public static JsonExtractor ForPaths(IReadOnlyList<string> paths, bool missingAsEmpty)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var root = new Node(null, -1);
        for (var output = 0; output < paths.Count; output++)
        {
            var node = root;
            foreach (var (key, index) in JsonPath.Parse(paths[output]))
            {
                node = node.Child(key, index);
            }

            node.Outputs.Add(output);
        }

        return new JsonExtractor(root, paths.Count, missingAsEmpty);
    }

    /// <summary>An extractor of every key (LogQL's <c>| json</c> without parameters), reported through <see cref="IExtractionTarget.SetKey"/>.</summary>
    public static JsonExtractor ForAllKeys() => new(null, 0, missingAsEmpty: false);

    /// <summary>
    /// Like the extraction of every key (an extractor made by <see cref="ForAllKeys"/>), but only the keys whose label
    /// names (sanitized, nested keys flattened with <c>_</c>) are in <paramref name="keys"/> are reported, the first
    /// value of key <c>i</c> through <see cref="IExtractionTarget.Set(int, ReadOnlySpan{byte})"/> with output
    /// <c>outputs[i]</c>; objects under which no such name lies are skipped unread. Once every output has its value the
    /// rest of the input is not read (as Loki stops once every label it needs is extracted), so an error after that
    /// point is not seen.
    /// </summary>
    /// <param name="input">The JSON text.</param>
    /// <param name="keys">The label names wanted, as UTF-8.</param>
    /// <param name="outputs">The output of each key (two keys can give the same label), in <c>[0, outputCount)</c>.</param>
    /// <param name="outputCount">The number of distinct outputs; none (zero) reads the whole input to check it.</param>
    /// <param name="target">Where values go.</param>
    /// <param name="error">When the input is malformed, what is wrong with it.</param>
    /// <returns>Whether the input is a well-formed JSON object (as far as it was read).</returns>
    public bool ExtractKeys<TTarget>(ReadOnlySpan<byte> input, byte[][] keys, int[] outputs, int outputCount, ref TTarget target, out string? error)
        where TTarget : struct, IExtractionTarget
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(outputs);
        if (_wantedFound.Length < outputCount)
        {
            _wantedFound = new bool[outputCount];
        }

        Array.Clear(_wantedFound, 0, outputCount);
        _wantedKeys = keys;
        _wantedOutputs = outputs;
        _wantedRemaining = outputCount;
        try
        {
            if (ScanFlat(input, ref target))
            {
                error = null;
                return true;
            }

            // Anything the flat scan does not take (nesting, escapes, errors) is read again by the full reader. What the
            // scan found lies before the point where it stopped, which the reader reaches too: it is not reported twice.
            return Extract(input, ref target, out error);
        }
        finally
        {
            _wantedKeys = null;
        }
    }

    /// <summary>Extracts from <paramref name="input"/> into <paramref name="target"/>.</summary>
    /// <param name="input">The JSON text.</param>
    /// <param name="target">Where values go.</param>
    /// <param name="error">When the input is malformed, what is wrong with it.</param>
    /// <returns>Whether the input is a well-formed JSON object.</returns>
    public bool Extract<TTarget>(ReadOnlySpan<byte> input, ref TTarget target, out string? error)
        where TTarget : struct, IExtractionTarget
    {
        Array.Clear(_found);
        try
        {
            var reader = new Utf8JsonReader(input, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = NotAnObject;
                return false;
            }

            if (_root is null)
            {
                if (!WalkAll(ref reader, ref target))
                {
                    // Every wanted key was found: the rest is not read.
                    error = null;
                    return true;
                }
            }
            else
            {
                WalkObject(ref reader, input, _root, ref target);
            }

            // Like Go's decoders: text after the object makes the input malformed (Read throws on it).
            if (reader.Read())
            {
                error = "invalid character after top-level value";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return false;
        }
        catch (InvalidOperationException ex)
        {
            error = ex.Message;
            return false;
        }

        if (_missingAsEmpty)
        {
            for (var i = 0; i < _found.Length; i++)
            {
                if (!_found[i])
                {
                    target.Set(i, ReadOnlySpan<byte>.Empty);
                }
            }
        }

        error = null;
        return true;
    }

    private void WalkObject<TTarget>(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            Node? match = null;
            var escaped = reader.ValueIsEscaped;
            var name = reader.ValueSpan;
            foreach (var child in node.Children)
            {
                // Unescaped names (the norm) compare as bytes, which is much cheaper than ValueTextEquals.
                if (child.Key is not null && (escaped ? reader.ValueTextEquals(child.KeyUtf8) : name.SequenceEqual(child.KeyUtf8)))
                {
                    match = child;
                    break;
                }
            }

            reader.Read();
            if (match is null)
            {
                reader.Skip();
                continue;
            }

            Visit(ref reader, input, match, ref target);
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("expected the end of an object");
        }
    }

    private void WalkArray<TTarget>(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Node? match = null;
            foreach (var child in node.Children)
            {
                if (child.Key is null && child.Index == index)
                {
                    match = child;
                    break;
                }
            }

            if (match is null)
            {
                reader.Skip();
            }
            else
            {
                Visit(ref reader, input, match, ref target);
            }

            index++;
        }
    }

    /// <summary>The reader is on the value of <paramref name="node"/>: extract it and walk into it as needed.</summary>
    private void Visit<TTarget>(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        var start = (int)reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                if (node.Outputs.Count > 0)
                {
                    SetAll(node, StringValue(ref reader), ref target);
                }

                return;
            case JsonTokenType.Null:
                return;
            case JsonTokenType.StartObject:
                if (node.HasKeyChildren)
                {
                    WalkObject(ref reader, input, node, ref target);
                }
                else
                {
                    reader.Skip();
                }

                break;
            case JsonTokenType.StartArray:
                if (node.HasIndexChildren)
                {
                    WalkArray(ref reader, input, node, ref target);
                }
                else
                {
                    reader.Skip();
                }

                break;
            default:
                // Numbers and booleans: their JSON text.
                SetAll(node, reader.ValueSpan, ref target);
                return;
        }

        if (node.Outputs.Count > 0)
        {
            SetAll(node, input[start..(int)reader.BytesConsumed], ref target);
        }
    }

    private void SetAll<TTarget>(Node node, ReadOnlySpan<byte> value, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        foreach (var output in node.Outputs)
        {
            _found[output] = true;
            target.Set(output, value);
        }
    }

    /// <summary>Every key of the object the reader is in, nested objects prefixing their keys with <c>parent_</c>.</summary>
    /// <returns><see langword="false"/> when it stopped early, every wanted key having been found.</returns>
    private bool WalkAll<TTarget>(ref Utf8JsonReader reader, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        var wanted = _wantedKeys;
        var prefix = 0;
        var depth = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.EndObject:
                    if (depth == 0)
                    {
                        return true;
                    }

                    prefix = _prefixLengths[--depth];
                    break;
                case JsonTokenType.PropertyName:
                    {
                        // A top-level key that is already a label name (the usual case) is used as the reader has it;
                        // otherwise the sanitized key goes after the prefix in _key, and a nested object keeps it (plus
                        // '_') as its prefix.
                        var direct = prefix == 0 && !reader.ValueIsEscaped && LabelNames.IsValid(reader.ValueSpan);
                        var name = direct ? reader.ValueSpan : default;
                        var length = direct ? name.Length : prefix + SanitizedKey(ref reader, prefix);
                        reader.Read();
                        var key = direct ? name : _key.AsSpan(0, length);
                        switch (reader.TokenType)
                        {
                            case JsonTokenType.StartObject when wanted is not null && !AnyUnder(wanted, key):
                                reader.Skip();
                                break;
                            case JsonTokenType.StartObject:
                                if (direct)
                                {
                                    name.CopyTo(Grow(ref _key, length + 1));
                                }

                                if (depth == _prefixLengths.Length)
                                {
                                    Array.Resize(ref _prefixLengths, depth * 2);
                                }

                                _prefixLengths[depth++] = prefix;
                                LabelNames.Ensure(ref _key, length + 1);
                                _key[length] = (byte)'_';
                                prefix = length + 1;
                                break;
                            case JsonTokenType.StartArray:
                                reader.Skip();
                                break;
                            case JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                                if (wanted is null)
                                {
                                    target.SetKey(key, reader.TokenType == JsonTokenType.String ? StringValue(ref reader) : reader.ValueSpan);
                                }
                                else if (SetWanted(wanted, key, ref reader, ref target))
                                {
                                    return false;
                                }

                                break;
                        }

                        break;
                    }
            }
        }

        return true;
    }

    /// <summary>
    /// The common case of <see cref="ExtractKeys"/> without <see cref="Utf8JsonReader"/>: a flat object (scalar values
    /// only) read with vectorized searches, strictly by the JSON grammar. <see langword="false"/> when the input is
    /// anything else (a nested value, an escaped key or wanted value, invalid UTF-8, malformed): the caller reads it
    /// again with the reader, so errors are the reader's.
    /// </summary>
    private bool ScanFlat<TTarget>(ReadOnlySpan<byte> input, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        var wanted = _wantedKeys!;
        var i = SkipWhitespace(input, 0);
        if (i >= input.Length || input[i] != (byte)'{')
        {
            return false;
        }

        i = SkipWhitespace(input, i + 1);
        if (i < input.Length && input[i] == (byte)'}')
        {
            return SkipWhitespace(input, i + 1) == input.Length;
        }

        while (true)
        {
            if (i >= input.Length || input[i] != (byte)'"')
            {
                return false;
            }

            var keyEnd = ScanString(input, i + 1, out var escaped);
            if (keyEnd < 0 || escaped)
            {
                return false;
            }

            var key = input[(i + 1)..keyEnd];
            i = SkipWhitespace(input, keyEnd + 1);
            if (i >= input.Length || input[i] != (byte)':')
            {
                return false;
            }

            i = SkipWhitespace(input, i + 1);
            if (i >= input.Length)
            {
                return false;
            }

            var start = i;
            var isNull = false;
            var isString = input[i] == (byte)'"';
            escaped = false;
            switch (input[i])
            {
                case (byte)'"':
                    i = ScanString(input, i + 1, out escaped);
                    if (i < 0)
                    {
                        return false;
                    }

                    start++;
                    break;
                case (byte)'t' when input[i..].StartsWith("true"u8):
                    i += 4;
                    break;
                case (byte)'f' when input[i..].StartsWith("false"u8):
                    i += 5;
                    break;
                case (byte)'n' when input[i..].StartsWith("null"u8):
                    i += 4;
                    isNull = true;
                    break;
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                    i = ScanNumber(input, i);
                    if (i < 0)
                    {
                        return false;
                    }

                    break;
                default:
                    return false;
            }

            var value = input[start..i];
            if (isString)
            {
                i++; // past the closing quote
            }

            if (!isNull)
            {
                var match = FindWanted(wanted, key);
                if (match < 0 && !LabelNames.IsValid(key))
                {
                    match = FindWanted(wanted, _key.AsSpan(0, LabelNames.AppendSanitized(key, ref _key, 0)));
                }

                if (match >= 0 && !_wantedFound[_wantedOutputs[match]])
                {
                    if (escaped)
                    {
                        return false;
                    }

                    _wantedFound[_wantedOutputs[match]] = true;
                    target.Set(_wantedOutputs[match], value);
                    if (--_wantedRemaining == 0)
                    {
                        return true;
                    }
                }
            }

            i = SkipWhitespace(input, i);
            if (i >= input.Length)
            {
                return false;
            }

            if (input[i] == (byte)'}')
            {
                return SkipWhitespace(input, i + 1) == input.Length;
            }

            if (input[i] != (byte)',')
            {
                return false;
            }

            i = SkipWhitespace(input, i + 1);
        }
    }

    private static int FindWanted(byte[][] wanted, ReadOnlySpan<byte> key)
    {
        for (var i = 0; i < wanted.Length; i++)
        {
            if (key.SequenceEqual(wanted[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool[] CreatePlainStringBytes()
    {
        var plain = new bool[256];
        for (var b = 0x20; b < 0x80; b++)
        {
            plain[b] = b is not ('"' or '\\');
        }

        return plain;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> input, int i)
    {
        if (i < input.Length && input[i] > (byte)' ')
        {
            return i;
        }

        while (i < input.Length && input[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    /// <summary>From just after an opening quote: the index of the closing quote, or -1 for a control character, a bad escape, invalid UTF-8 or no end.</summary>
    private static int ScanString(ReadOnlySpan<byte> input, int i, out bool escaped)
    {
        // Keys and values of log lines are short: a table lookup per byte beats a vectorized search's set-up.
        escaped = false;
        var start = i;
        var ascii = true;
        var plain = s_plainStringBytes;
        while (true)
        {
            while (i < input.Length && plain[input[i]])
            {
                i++;
            }

            if (i >= input.Length)
            {
                return -1;
            }

            var b = input[i];
            if (b == (byte)'"')
            {
                return ascii || Utf8.IsValid(input[start..i]) ? i : -1;
            }

            if (b >= 0x80)
            {
                ascii = false;
                i++;
                continue;
            }

            if (b != (byte)'\\' || i + 1 >= input.Length)
            {
                return -1; // a control character, or a backslash at the end
            }

            escaped = true;
            switch (input[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u' when i + 6 <= input.Length && IsHex(input.Slice(i + 2, 4)):
                    i += 6;
                    break;
                default:
                    return -1;
            }
        }
    }

    private static bool IsHex(ReadOnlySpan<byte> digits) => digits.IndexOfAnyExcept(s_hexDigits) < 0;

    /// <summary>A JSON number from <paramref name="i"/>: the index after it, or -1 when it is not one.</summary>
    private static int ScanNumber(ReadOnlySpan<byte> input, int i)
    {
        if (input[i] == (byte)'-')
        {
            i++;
        }

        if (i >= input.Length || !char.IsAsciiDigit((char)input[i]))
        {
            return -1;
        }

        if (input[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            i = SkipDigits(input, i);
        }

        if (i < input.Length && input[i] == (byte)'.')
        {
            var digits = SkipDigits(input, i + 1);
            if (digits == i + 1)
            {
                return -1;
            }

            i = digits;
        }

        if (i < input.Length && input[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < input.Length && input[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var digits = SkipDigits(input, i);
            if (digits == i)
            {
                return -1;
            }

            i = digits;
        }

        // A number runs into the next token only through whitespace, ',' or '}' (as "12x" is malformed).
        return i < input.Length && input[i] is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)',' or (byte)'}') ? -1 : i;
    }

    private static int SkipDigits(ReadOnlySpan<byte> input, int i)
    {
        while (i < input.Length && char.IsAsciiDigit((char)input[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>Reports a wanted key's first value; <see langword="true"/> when that was the last output missing.</summary>
    private bool SetWanted<TTarget>(byte[][] wanted, ReadOnlySpan<byte> key, ref Utf8JsonReader reader, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        for (var i = 0; i < wanted.Length; i++)
        {
            if (!key.SequenceEqual(wanted[i]))
            {
                continue;
            }

            var output = _wantedOutputs[i];
            if (_wantedFound[output])
            {
                return false;
            }

            _wantedFound[output] = true;
            target.Set(output, reader.TokenType == JsonTokenType.String ? StringValue(ref reader) : reader.ValueSpan);
            return --_wantedRemaining == 0;
        }

        return false;
    }

    /// <summary>Whether a wanted name lies under the object of <paramref name="key"/> (starts with <c>key_</c>).</summary>
    private static bool AnyUnder(byte[][] wanted, ReadOnlySpan<byte> key)
    {
        foreach (var name in wanted)
        {
            if (name.Length > key.Length && name[key.Length] == (byte)'_' && name.AsSpan().StartsWith(key))
            {
                return true;
            }
        }

        return false;
    }

    private static Span<byte> Grow(ref byte[] buffer, int length)
    {
        LabelNames.Ensure(ref buffer, length);
        return buffer;
    }

    private int SanitizedKey(ref Utf8JsonReader reader, int offset)
    {
        if (!reader.ValueIsEscaped)
        {
            return LabelNames.AppendSanitized(reader.ValueSpan, ref _key, offset);
        }

        var raw = StringValue(ref reader);
        return LabelNames.AppendSanitized(raw, ref _key, offset);
    }

    /// <summary>The reader's string value, unescaped into the scratch buffer when it has escapes.</summary>
    private ReadOnlySpan<byte> StringValue(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        if (_scratch.Length < reader.ValueSpan.Length)
        {
            _scratch = new byte[Math.Max(reader.ValueSpan.Length, _scratch.Length * 2)];
        }

        return _scratch.AsSpan(0, reader.CopyString(_scratch));
    }

    private sealed class Node(string? key, int index)
    {
        public string? Key { get; } = key;

        public byte[] KeyUtf8 { get; } = key is null ? [] : Encoding.UTF8.GetBytes(key);

        public int Index { get; } = index;

        public List<Node> Children { get; } = [];

        public List<int> Outputs { get; } = [];

        public bool HasKeyChildren { get; private set; }

        public bool HasIndexChildren { get; private set; }

        public Node Child(string? key, int index)
        {
            foreach (var child in Children)
            {
                if (string.Equals(child.Key, key, StringComparison.Ordinal) && child.Index == index)
                {
                    return child;
                }
            }

            var node = new Node(key, index);
            Children.Add(node);
            HasKeyChildren |= key is not null;
            HasIndexChildren |= key is null;
            return node;
        }
    }
}
