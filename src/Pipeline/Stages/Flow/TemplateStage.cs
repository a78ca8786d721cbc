using System.Text;
using Pipeline.LogQL.Templates;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>template</c> stage: runs a Go template (parsed once, at construction) over the extracted values,
/// with <c>.Value</c> the value of <c>source</c> and <c>.Entry</c> the line, and stores the result in <c>source</c>;
/// an empty result removes <c>source</c>. An execution error (such as a function given a missing value) leaves it
/// unchanged. See <see cref="TemplateStageOptions.Template"/> for the supported subset and functions (the same engine
/// as LogQL's <c>line_format</c>, with Promtail's function set).
/// </summary>
/// <remarks>Templates work on text, so this stage decodes the values it reads and allocates per line.</remarks>
public sealed class TemplateStage : ILogStage
{
    private readonly GoTemplate _template;
    private readonly string _source;
    private readonly StringBuilder _output = new();
    private readonly EntryTemplateData _data = new(entryField: true);

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No source or template, or the template does not parse.</exception>
    public TemplateStage(TemplateStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionNames.RequireSource(options.Source, "template");
        if (options.Template is null)
        {
            throw new StageOptionsException("template", "template", null, "a Go template such as '{{ .Value | ToUpper }}'");
        }

        try
        {
            _template = GoTemplate.Parse(options.Template, TemplateFunctions.Promtail);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException("template", "template", options.Template, ex.Message, ex);
        }

        _source = options.Source!;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public TemplateStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _data.Reset(entry, _source);
        _output.Clear();
        var ok = _template.TryRender(_output, _data, out _);
        _data.Clear();
        if (!ok)
        {
            return StageResult.Keep;
        }

        if (_output.Length == 0)
        {
            entry.Extracted.Remove(_source);
        }
        else
        {
            entry.Extracted.Set(_source, _output.ToString().AsSpan());
        }

        return StageResult.Keep;
    }
}
