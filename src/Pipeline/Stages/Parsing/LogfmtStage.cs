using System.Buffers;
using Pipeline.LogQL.Extraction;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>logfmt</c> stage: extracts the mapped keys of a <c>key=value key2="quoted value"</c> line (or of the
/// extracted value named by <c>source</c>). A key without <c>=</c> has an empty value; quoted values are unescaped
/// (<c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\uXXXX</c>...). As in go-logfmt, parsing stops at the first
/// syntax error, keeping what was extracted before it (LogQL's <c>| logfmt</c>, on the same extractor, skips the bad
/// pair instead).
/// </summary>
public sealed class LogfmtStage : ILogStage
{
    private readonly LogfmtExtractor _extractor;
    private readonly string[] _names;
    private readonly string? _source;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The mapping is empty or names an empty key.</exception>
    public LogfmtStage(LogfmtStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mapping is null || options.Mapping.Count == 0)
        {
            throw new StageOptionsException("logfmt", "mapping", null, "at least one 'name: key' pair");
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("logfmt", "source", string.Empty, "the name of an extracted value, or no source to parse the line");
        }

        var names = new List<string>();
        var keys = new List<string>();
        foreach (var (name, key) in options.Mapping)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new StageOptionsException("logfmt", "mapping", name, "a non-empty extracted name");
            }

            var k = string.IsNullOrEmpty(key) ? name : key;
            if (k.AsSpan().IndexOfAny(" =\"") >= 0)
            {
                throw new StageOptionsException("logfmt", $"mapping.{name}", k, "a logfmt key (no spaces, '=' or '\"')");
            }

            names.Add(name);
            keys.Add(k);
        }

        _extractor = new LogfmtExtractor(keys, LogfmtErrors.Stop, keepEmpty: true);
        _names = [.. names];
        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LogfmtStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var target = new ExtractedTarget(entry.Extracted, _names);
        if (_source is null)
        {
            _extractor.Extract(entry.Line, ref target, out _);
            return StageResult.Keep;
        }

        if (!entry.Extracted.TryGetValue(_source, out var value))
        {
            return StageResult.Keep;
        }

        // Setting extracted values may move the arena the source lives in: parse a copy.
        var copy = ArrayPool<byte>.Shared.Rent(value.Length);
        value.CopyTo(copy);
        _extractor.Extract(copy.AsSpan(0, value.Length), ref target, out _);
        ArrayPool<byte>.Shared.Return(copy);
        return StageResult.Keep;
    }
}
