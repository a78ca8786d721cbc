using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Syntax;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| json</c>: every key (nested objects flattened with <c>_</c>), or only the given paths (null or absent: empty).</summary>
internal sealed class JsonParserStage : LogStage
{
    private readonly JsonExtractor _extractor;
    private readonly string[]? _names;
    private readonly IReadOnlySet<string>? _needed;

    public JsonParserStage(IReadOnlyList<ExtractionParam> parameters, IReadOnlySet<string>? needed = null)
    {
        _needed = needed;
        if (parameters.Count == 0)
        {
            _extractor = JsonExtractor.ForAllKeys();
            return;
        }

        _extractor = JsonExtractor.ForPaths([.. parameters.Select(static p => p.Expression)], missingAsEmpty: true);
        _names = [.. parameters.Select(static p => p.Label)];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, _names, firstWins: _names is null, _needed);
        if (!_extractor.Extract(line.Bytes, ref target, out var error))
        {
            labels.SetError(JsonParserError, error);
        }

        return true;
    }
}
