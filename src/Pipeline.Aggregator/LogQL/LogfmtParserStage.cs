using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Syntax;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| logfmt</c> with Loki's <c>--strict</c> and <c>--keep-empty</c> flags: malformed pairs are skipped, or reported with --strict.</summary>
internal sealed class LogfmtParserStage(bool strict, bool keepEmpty, IReadOnlyList<ExtractionParam> parameters, IReadOnlySet<string>? needed = null) : LogStage
{
    private readonly LogfmtExtractor _extractor = new(
        parameters.Count == 0 ? null : [.. parameters.Select(static p => p.Expression)],
        strict ? LogfmtErrors.Report : LogfmtErrors.Skip,
        keepEmpty);

    private readonly string[]? _names = parameters.Count == 0 ? null : [.. parameters.Select(static p => p.Label)];

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, _names, firstWins: _names is null, needed);
        if (!_extractor.Extract(line.Bytes, ref target, out var error))
        {
            labels.SetError(LogfmtParserError, error);
        }

        return true;
    }
}
