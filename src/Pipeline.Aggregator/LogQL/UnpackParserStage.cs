using Pipeline.LogQL.Extraction;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| unpack</c>: a JSON object whose <c>_entry</c> becomes the line and whose other string keys become labels.</summary>
internal sealed class UnpackParserStage : LogStage
{
    private readonly UnpackExtractor _extractor = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, null, firstWins: false);
        if (!_extractor.Extract(line.Bytes, ref target, out var entry, out var hasEntry, out var error))
        {
            labels.SetError(JsonParserError, error);
        }
        else if (hasEntry)
        {
            line.SetBytes(entry);
        }

        return true;
    }
}
