using System.Text;
using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Templates;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| label_format a=b, c="{{...}}"</c>: renames and templates, all rendered from the labels as they were before the stage.</summary>
internal sealed class LabelFormatStage : LogStage
{
    private readonly IReadOnlyList<LabelFormatItem> _items;
    private readonly GoTemplate?[] _templates;
    private readonly string?[] _values;
    private readonly LabelsTemplateData _data = new();
    private readonly StringBuilder _output = new();

    public LabelFormatStage(IReadOnlyList<LabelFormatItem> items)
    {
        _items = items;
        _templates = new GoTemplate?[items.Count];
        _values = new string?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].IsTemplate)
            {
                _templates[i] = LineTemplates.Parse(items[i].Source);
            }
        }
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            var template = _templates[i];
            if (template is null)
            {
                _values[i] = labels.Get(_items[i].Source);
                continue;
            }

            _data.Reset(labels, line);
            _output.Clear();
            if (template.TryRender(_output, _data, out var error))
            {
                _values[i] = _output.ToString();
            }
            else
            {
                labels.SetError(TemplateFormatError, error);
                _values[i] = null;
            }
        }

        for (var i = 0; i < _items.Count; i++)
        {
            if (_templates[i] is null)
            {
                if (_values[i] is null)
                {
                    continue;
                }

                labels.Delete(_items[i].Source);
            }

            labels.Set(_items[i].Target, _values[i]);
        }

        return true;
    }
}
