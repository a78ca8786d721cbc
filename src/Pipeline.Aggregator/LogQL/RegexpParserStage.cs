using Pipeline.LogQL.Extraction;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| regexp "(?P&lt;name&gt;...)"</c>: named groups become labels.</summary>
internal sealed class RegexpParserStage : LogStage
{
    private readonly RegexpExtractor _extractor;
    private readonly string[] _names;

    public RegexpParserStage(string pattern)
    {
        _extractor = new RegexpExtractor(pattern, labelNames: true);
        _names = [.. _extractor.Names];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var target = new LabelsTarget(labels, _names, firstWins: false);
        _extractor.Extract(line.Bytes, ref target);
        return true;
    }
}
