using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>
/// Promtail's <c>tenant</c> stage: sets the entry's tenant from an extracted value, a label or a fixed value. An
/// empty or missing value leaves the tenant unchanged. The tenant string is reused while the value repeats.
/// </summary>
public sealed class TenantStage : ILogStage
{
    private readonly string? _source;
    private readonly string? _label;
    private readonly string? _value;
    private string? _lastTenant;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">None or more than one of source, label and value is set.</exception>
    public TenantStage(TenantStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var set = (string.IsNullOrEmpty(options.Source) ? 0 : 1) + (string.IsNullOrEmpty(options.Label) ? 0 : 1) + (string.IsNullOrEmpty(options.Value) ? 0 : 1);
        if (set != 1)
        {
            throw new StageOptionsException("tenant", "source", options.Source, $"exactly one of source, label or value (got {set})");
        }

        if (options.Label is { Length: > 0 })
        {
            OptionNames.RequireLabelName(options.Label, "tenant", "label");
        }

        _source = string.IsNullOrEmpty(options.Source) ? null : options.Source;
        _label = string.IsNullOrEmpty(options.Label) ? null : options.Label;
        _value = string.IsNullOrEmpty(options.Value) ? null : options.Value;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public TenantStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_value is not null)
        {
            entry.Tenant = _value;
        }
        else if (_label is not null)
        {
            if (entry.Labels.TryGetValue(_label, out var tenant))
            {
                entry.Tenant = tenant;
            }
        }
        else if (entry.Extracted.TryGetValue(_source!, out var bytes) && !bytes.IsEmpty)
        {
            if (_lastTenant is null || !Utf8Text.EqualsString(bytes, _lastTenant))
            {
                _lastTenant = Utf8Text.GetString(bytes);
            }

            entry.Tenant = _lastTenant;
        }

        return StageResult.Keep;
    }
}
