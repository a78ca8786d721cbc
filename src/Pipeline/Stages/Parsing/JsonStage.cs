using System.Text;
using System.Text.Json;
using Pipeline.Model;
using Pipeline.Runtime;

using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>json</c> stage: extracts values from a JSON object line (or from the extracted value named by
/// <c>source</c>) by expression. Strings are extracted unescaped; numbers and booleans as their JSON text; objects
/// and arrays as their JSON text; <c>null</c> and missing values are not extracted.
/// </summary>
/// <remarks>
/// One forward pass of <see cref="Utf8JsonReader"/> evaluates every expression, skipping subtrees no expression
/// needs; nothing is allocated per line once the scratch buffer has grown to the longest string. A line that is not a
/// JSON object is left unchanged, or dropped (reason <c>json_malformed</c>) with <c>drop_malformed</c>.
/// </remarks>
public sealed class JsonStage : ILogStage
{
    /// <summary>The drop reason for malformed lines with <c>drop_malformed</c>.</summary>
    public const string MalformedReason = "json_malformed";

    private readonly Node _root = new(null, -1);
    private readonly string? _source;
    private readonly bool _dropMalformed;
    private byte[] _scratch = new byte[256];

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No expressions, or an expression is not supported.</exception>
    public JsonStage(JsonStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Expressions is null || options.Expressions.Count == 0)
        {
            throw new StageOptionsException("json", "expressions", null, "at least one 'name: expression' pair");
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("json", "source", string.Empty, "the name of an extracted value, or no source to parse the line");
        }

        foreach (var (name, expression) in options.Expressions)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new StageOptionsException("json", "expressions", name, "a non-empty extracted name");
            }

            var text = string.IsNullOrEmpty(expression) ? name : expression;
            var node = _root;
            foreach (var step in ParseExpression(text))
            {
                node = node.Child(step.Key, step.Index);
            }

            if (node == _root)
            {
                throw new StageOptionsException("json", $"expressions.{name}", text, "a path such as a, a.b, a[0] or \"quoted.key\"");
            }

            node.Outputs.Add(name);
        }

        _source = options.Source;
        _dropMalformed = options.DropMalformed;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public JsonStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!StageInput.TryRead(entry, _source, out var input))
        {
            return StageResult.Keep;
        }

        // Extracting may move the extracted arena (when the source is an extracted value): parse a copy then.
        byte[]? copy = null;
        if (_source is not null)
        {
            copy = System.Buffers.ArrayPool<byte>.Shared.Rent(input.Length);
            input.CopyTo(copy);
            input = copy.AsSpan(0, input.Length);
        }

        try
        {
            var reader = new Utf8JsonReader(input, new JsonReaderOptions { MaxDepth = 128 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Malformed();
            }

            WalkObject(ref reader, input, _root, entry.Extracted);

            // Like Go's json.Unmarshal: text after the object makes the line malformed (Read throws on it).
            return reader.Read() ? Malformed() : StageResult.Keep;
        }
        catch (JsonException)
        {
            return Malformed();
        }
        catch (InvalidOperationException)
        {
            return Malformed();
        }
        finally
        {
            if (copy is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    private StageResult Malformed() => _dropMalformed ? StageResult.Drop(MalformedReason) : StageResult.Keep;

    private void WalkObject(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, LogFields extracted)
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

            Visit(ref reader, input, match, extracted);
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("expected the end of an object");
        }
    }

    private void WalkArray(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, LogFields extracted)
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
                Visit(ref reader, input, match, extracted);
            }

            index++;
        }
    }

    /// <summary>The reader is on the value of <paramref name="node"/>: extract it and walk into it as needed.</summary>
    private void Visit(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, Node node, LogFields extracted)
    {
        var start = (int)reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                if (node.Outputs.Count > 0)
                {
                    ReadOnlySpan<byte> value;
                    if (reader.ValueIsEscaped)
                    {
                        if (_scratch.Length < reader.ValueSpan.Length)
                        {
                            _scratch = new byte[Math.Max(reader.ValueSpan.Length, _scratch.Length * 2)];
                        }

                        value = _scratch.AsSpan(0, reader.CopyString(_scratch));
                    }
                    else
                    {
                        value = reader.ValueSpan;
                    }

                    SetAll(node, value, extracted);
                }

                return;
            case JsonTokenType.Null:
                return;
            case JsonTokenType.StartObject:
                if (node.HasKeyChildren)
                {
                    WalkObject(ref reader, input, node, extracted);
                }
                else
                {
                    reader.Skip();
                }

                break;
            case JsonTokenType.StartArray:
                if (node.HasIndexChildren)
                {
                    WalkArray(ref reader, input, node, extracted);
                }
                else
                {
                    reader.Skip();
                }

                break;
            default:
                // Numbers and booleans: their JSON text.
                SetAll(node, reader.ValueSpan, extracted);
                return;
        }

        if (node.Outputs.Count > 0)
        {
            SetAll(node, input[start..(int)reader.BytesConsumed], extracted);
        }
    }

    private static void SetAll(Node node, ReadOnlySpan<byte> value, LogFields extracted)
    {
        foreach (var name in node.Outputs)
        {
            extracted.Set(name, value);
        }
    }

    /// <summary>Parses the supported JMESPath subset into steps: keys and array indexes.</summary>
    internal static List<(string? Key, int Index)> ParseExpression(string expression)
    {
        const string Expected = "a path of keys and indexes such as a.b, a[0].c or \"quoted.key\" (JMESPath functions, wildcards, slices and filters are not supported)";
        var steps = new List<(string? Key, int Index)>();
        var i = 0;
        var needKey = true;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (needKey)
            {
                if (c == '"')
                {
                    var sb = new StringBuilder();
                    i++;
                    while (i < expression.Length && expression[i] != '"')
                    {
                        if (expression[i] == '\\' && i + 1 < expression.Length)
                        {
                            i++;
                        }

                        sb.Append(expression[i]);
                        i++;
                    }

                    if (i >= expression.Length)
                    {
                        throw Invalid(expression, $"unterminated quoted key; {Expected}");
                    }

                    i++;
                    steps.Add((sb.ToString(), -1));
                }
                else if (char.IsAsciiLetter(c) || c == '_')
                {
                    var start = i;
                    while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '_'))
                    {
                        i++;
                    }

                    steps.Add((expression[start..i], -1));
                }
                else
                {
                    throw Invalid(expression, $"unexpected '{c}' at position {i}; {Expected}");
                }

                needKey = false;
                continue;
            }

            if (c == '.')
            {
                needKey = true;
                i++;
                continue;
            }

            if (c == '[')
            {
                var end = expression.IndexOf(']', i);
                if (end < 0 || !int.TryParse(expression.AsSpan(i + 1, end - i - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    throw Invalid(expression, $"expected a non-negative index in [...] at position {i}; {Expected}");
                }

                steps.Add((null, index));
                i = end + 1;
                continue;
            }

            throw Invalid(expression, $"unexpected '{c}' at position {i}; {Expected}");
        }

        if (needKey)
        {
            throw Invalid(expression, $"the expression is empty or ends with '.'; {Expected}");
        }

        return steps;
    }

    private static StageOptionsException Invalid(string expression, string expected) => new("json", "expressions", expression, expected);

    private sealed class Node(string? key, int index)
    {
        public string? Key { get; } = key;

        public byte[] KeyUtf8 { get; } = key is null ? [] : Encoding.UTF8.GetBytes(key);

        public int Index { get; } = index;

        public List<Node> Children { get; } = [];

        public List<string> Outputs { get; } = [];

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
