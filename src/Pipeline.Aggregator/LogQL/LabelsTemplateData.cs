using Pipeline.LogQL.Templates;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// What <c>line_format</c> and <c>label_format</c> templates see: the entry's labels as fields (a missing label is "",
/// as with Loki's <c>missingkey=zero</c>) and its line and timestamp for <c>__line__</c> and <c>__timestamp__</c>.
/// </summary>
internal sealed class LabelsTemplateData : ITemplateData
{
    private LabelsBuilder? _labels;
    private LineState? _line;

    public string Line => _line!.Text;

    public long Timestamp => _line!.Timestamp;

    public void Reset(LabelsBuilder labels, LineState line)
    {
        _labels = labels;
        _line = line;
    }

    public string? Field(string name) => _labels!.Get(name) ?? string.Empty;
}
