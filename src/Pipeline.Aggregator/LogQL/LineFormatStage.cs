using System.Text;
using Pipeline.LogQL.Templates;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| line_format "..."</c>.</summary>
internal sealed class LineFormatStage(GoTemplate template) : LogStage
{
    private readonly LabelsTemplateData _data = new();
    private readonly StringBuilder _output = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        _data.Reset(labels, line);
        _output.Clear();
        if (template.TryRender(_output, _data, out var error))
        {
            line.SetText(_output.ToString());
        }
        else
        {
            labels.SetError(TemplateFormatError, error);
        }

        return true;
    }
}
