using Pipeline.LogQL.Extraction;
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
/// The shared JSON extractor (the one LogQL's <c>| json</c> uses) evaluates every expression in one forward pass,
/// skipping subtrees no expression needs; nothing is allocated per line once its scratch buffer has grown to the
/// longest string. A line that is not a JSON object is left unchanged, or dropped (reason <c>json_malformed</c>) with
/// <c>drop_malformed</c>.
/// </remarks>
public sealed class JsonStage : ILogStage
{
    /// <summary>The drop reason for malformed lines with <c>drop_malformed</c>.</summary>
    public const string MalformedReason = "json_malformed";

    private readonly JsonExtractor _extractor;
    private readonly string[] _names;
    private readonly string? _source;
    private readonly bool _dropMalformed;

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

        var names = new List<string>();
        var paths = new List<string>();
        foreach (var (name, expression) in options.Expressions)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new StageOptionsException("json", "expressions", name, "a non-empty extracted name");
            }

            var path = string.IsNullOrEmpty(expression) ? name : expression;
            try
            {
                _ = JsonPath.Parse(path);
            }
            catch (FormatException ex)
            {
                throw new StageOptionsException("json", "expressions", path, ex.Message, ex);
            }

            names.Add(name);
            paths.Add(path);
        }

        _extractor = JsonExtractor.ForPaths(paths, missingAsEmpty: false);
        _names = [.. names];
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
            var target = new ExtractedTarget(entry.Extracted, _names);
            return _extractor.Extract(input, ref target, out _) || !_dropMalformed ? StageResult.Keep : StageResult.Drop(MalformedReason);
        }
        finally
        {
            if (copy is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }
}
