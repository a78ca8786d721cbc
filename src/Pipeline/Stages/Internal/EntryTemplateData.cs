using Pipeline.LogQL.Templates;
using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>
/// What Promtail's templates see of an entry: the extracted values as fields, <c>.Value</c> (the stage's source value,
/// or the text being replaced) and, for the <c>template</c> stage, <c>.Entry</c> (the line). Missing fields are
/// <see langword="null"/>, as with Go's map data.
/// </summary>
internal sealed class EntryTemplateData(bool entryField) : ITemplateData
{
    private LogEntry? _entry;
    private string? _valueField;
    private string? _value;

    public string Line => _entry!.GetLineString();

    public long Timestamp => _entry!.Timestamp;

    /// <summary>Renders for <paramref name="entry"/> with <c>.Value</c> read from the extracted value <paramref name="valueField"/>.</summary>
    public void Reset(LogEntry entry, string valueField)
    {
        _entry = entry;
        _valueField = valueField;
        _value = null;
    }

    /// <summary>Renders for <paramref name="entry"/> with <c>.Value</c> set to <paramref name="value"/>.</summary>
    public void ResetWithValue(LogEntry entry, string? value)
    {
        _entry = entry;
        _valueField = null;
        _value = value;
    }

    /// <summary>Lets go of the entry.</summary>
    public void Clear()
    {
        _entry = null;
        _value = null;
    }

    public string? Field(string name)
    {
        var entry = _entry!;
        if (name == "Value")
        {
            if (_valueField is null)
            {
                return _value;
            }

            return entry.Extracted.TryGetString(_valueField, out var value) ? value : null;
        }

        if (entryField && name == "Entry")
        {
            return entry.GetLineString();
        }

        return entry.Extracted.TryGetString(name, out var field) ? field : null;
    }
}
