using System.Runtime.InteropServices;
using System.Text;
using Pipeline.LogQL.Extraction;
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

    private const string DuplicateSuffix = "_extracted";
    private const int MaxCachedKeys = 1024;

    // A change is the new value (null: deleted) and whether a parser set it (for the parsers where the first value wins).
    private readonly Dictionary<string, (string? Value, bool Parsed)> _changes = new(StringComparer.Ordinal);
    private readonly LabelSetBuilder _builder = new();
    private LabelSet _base = LabelSet.Empty;

    // Created when a parser first runs: a pipeline of filters only (one builder per stream) needs neither.
    // Keys found in lines, as label names: lines of a stream repeat their keys, so each is decoded and sanitized once.
    private Dictionary<byte[], KeyEntry>? _keys;
    private Dictionary<string, string>? _suffixed;

    public LabelSet Base => _base;

    public bool HasChanges => _changes.Count > 0;

    /// <summary>Starts an entry: its labels are <paramref name="baseLabels"/> (the stream's plus its structured metadata).</summary>
    public void Reset(LabelSet baseLabels)
    {
        _base = baseLabels;
        _changes.Clear();
    }

    public string? Get(string name)
    {
        if (_changes.TryGetValue(name, out var change))
        {
            return change.Value;
        }

        return _base[name];
    }

    public bool Has(string name) => !string.IsNullOrEmpty(Get(name));

    public void Set(string name, string? value) => CollectionsMarshal.GetValueRefOrAddDefault(_changes, name, out _).Value = value;

    public void Delete(string name) => Set(name, null);

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

    /// <summary>
    /// Sets a label a parser extracted. With <paramref name="firstWins"/> (the parsers that take every key), a label an
    /// earlier parser or an earlier key of the line already set is kept, as Loki does.
    /// </summary>
    public void SetParsed(string name, string value, bool firstWins)
    {
        ref var change = ref CollectionsMarshal.GetValueRefOrAddDefault(_changes, name, out var exists);
        if (exists && change.Parsed && firstWins)
        {
            return;
        }

        change = (value, true);
    }

    /// <summary>The label name for a parser's output: <c>_extracted</c> is appended when the entry already has the label.</summary>
    public string ParsedName(string name)
    {
        if (!_base.Contains(name))
        {
            return name;
        }

        _suffixed ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (!_suffixed.TryGetValue(name, out var suffixed))
        {
            suffixed = name + DuplicateSuffix;
            if (_suffixed.Count < MaxCachedKeys)
            {
                _suffixed[name] = suffixed;
            }
        }

        return suffixed;
    }

    /// <summary>The label name for a key found in a line (sanitized, then as <see cref="ParsedName"/>).</summary>
    public string KeyName(ReadOnlySpan<byte> key)
    {
        _keys ??= new Dictionary<byte[], KeyEntry>(ByteKeyComparer.Instance);
        var lookup = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var entry))
        {
            entry = new KeyEntry(LabelNames.Sanitize(Encoding.UTF8.GetString(key)));
            if (_keys.Count < MaxCachedKeys)
            {
                _keys[key.ToArray()] = entry;
            }
        }

        // Entries of a stream share its label set unless they carry structured metadata: decide the suffix once for it.
        if (!ReferenceEquals(entry.CheckedFor, _base))
        {
            entry.FinalName = ParsedName(entry.Name);
            entry.CheckedFor = _base;
        }

        return entry.FinalName!;
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

        foreach (var (name, (value, _)) in _changes)
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
        foreach (var (name, (value, _)) in _changes)
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

    /// <summary>A key's sanitized label name, and its final name for the label set it was last checked against.</summary>
    private sealed class KeyEntry(string name)
    {
        public string Name { get; } = name;

        public LabelSet? CheckedFor { get; set; }

        public string? FinalName { get; set; }
    }

    /// <summary>Compares byte-array keys by content, and looks them up by span without allocating.</summary>
    private sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly ByteKeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = default(HashCode);
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
