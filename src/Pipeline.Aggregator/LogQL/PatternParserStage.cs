using Pipeline.LogQL.Extraction;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| pattern "&lt;ip&gt; - &lt;_&gt; [&lt;ts&gt;] ..."</c>: literals anchor captures; <c>&lt;_&gt;</c> skips.</summary>
internal sealed class PatternParserStage : LogStage
{
    private readonly PatternExtractor _extractor;
    private readonly string[] _names;

    /// <exception cref="FormatException">The pattern is invalid.</exception>
    public PatternParserStage(string pattern)
    {
        _extractor = new PatternExtractor(pattern);
        _names = [.. _extractor.Names];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var target = new LabelsTarget(labels, _names, firstWins: false);
        _extractor.Extract(line.Bytes, ref target);
        return true;
    }
}
