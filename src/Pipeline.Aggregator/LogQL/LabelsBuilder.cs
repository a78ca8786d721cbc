using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// The labels of one entry as a log pipeline changes them: the stream's labels (and structured metadata) plus the
/// changes parsers, formatters and drops made, turned into a <see cref="LabelSet"/> only at the end.
/// </summary>
internal sealed class LabelsBuilder
{
    public const string ErrorLabel = "__error__";
    public const string ErrorDetailsLabel = "__error_details__";

    private readonly Dictionary<string, string?> _changes = new(StringComparer.Ordinal);
    private readonly LabelSetBuilder _builder = new();
    private LabelSet _stream = LabelSet.Empty;
    private LabelSet _base = LabelSet.Empty;

    public LabelSet Base => _base;

    public bool HasChanges => _changes.Count > 0;

    public void Reset(LabelSet stream, LabelSet baseLabels)
    {
        _stream = stream;
        _base = baseLabels;
        _changes.Clear();
    }

    public string? Get(string name)
    {
        if (_changes.TryGetValue(name, out var value))
        {
            return value;
        }

        return _base[name];
    }

    public bool Has(string name) => !string.IsNullOrEmpty(Get(name));

    public void Set(string name, string? value) => _changes[name] = value;

    public void Delete(string name) => _changes[name] = null;

    public bool HasError => Has(ErrorLabel);

    /// <summary>Records a parse or conversion failure; the first error of an entry wins, as in Loki.</summary>
    public void SetError(string error, string? details)
    {
        if (HasError)
        {
            return;
        }

        Set(ErrorLabel, error);
        if (!string.IsNullOrEmpty(details))
        {
            Set(ErrorDetailsLabel, details);
        }
    }

    /// <summary>The name a parser gives an extracted key: sanitized, with <c>_extracted</c> when the stream already has it.</summary>
    public string ParsedName(string key)
    {
        var name = Sanitize(key);
        return _stream.Contains(name) ? name + "_extracted" : name;
    }

    public static string Sanitize(string key)
    {
        if (Label.IsValidName(key))
        {
            return key;
        }

        if (key.Length == 0)
        {
            return "_";
        }

        Span<char> buffer = key.Length <= 256 ? stackalloc char[key.Length + 1] : new char[key.Length + 1];
        var length = 0;
        if (char.IsAsciiDigit(key[0]))
        {
            buffer[length++] = '_';
        }

        foreach (var c in key)
        {
            buffer[length++] = char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_';
        }

        return new string(buffer[..length]);
    }

    /// <summary>The names currently present (base plus changes), for drop/keep and templates.</summary>
    public void CollectNames(List<string> names)
    {
        names.Clear();
        foreach (var label in _base)
        {
            if (!_changes.ContainsKey(label.Name))
            {
                names.Add(label.Name);
            }
        }

        foreach (var (name, value) in _changes)
        {
            if (!string.IsNullOrEmpty(value))
            {
                names.Add(name);
            }
        }
    }

    public LabelSet Build()
    {
        if (_changes.Count == 0)
        {
            return _base;
        }

        // Details without an error (the error was dropped or filtered away) are not shown.
        if (!HasError && Has(ErrorDetailsLabel))
        {
            Delete(ErrorDetailsLabel);
        }

        _builder.Reset(_base);
        foreach (var (name, value) in _changes)
        {
            _builder.Set(name, value);
        }

        return _builder.Build();
    }

    /// <summary>Merges structured metadata into stream labels (metadata does not override stream labels).</summary>
    public static LabelSet Merge(LabelSet stream, LabelSet? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return stream;
        }

        var builder = stream.ToBuilder();
        foreach (var label in metadata)
        {
            if (!stream.Contains(label.Name))
            {
                builder.Set(label.Name, label.Value);
            }
        }

        return builder.Build();
    }
}
