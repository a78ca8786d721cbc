using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Pipeline.Model;

/// <summary>
/// The labels of a stream: immutable, sorted by name, names validated, with a 64-bit fingerprint computed
/// once at construction so that stages and sinks can group entries by stream without re-hashing per line.
/// </summary>
/// <remarks>
/// As in Prometheus, a label with an empty value is the same as an absent label, so empty values are
/// left out. The text form is <c>{a="b", c="d"}</c> (see <see cref="ToString"/> and <see cref="Parse"/>).
/// </remarks>
public sealed class LabelSet : IEquatable<LabelSet>, IReadOnlyList<Label>
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    private readonly Label[] _labels;
    private string? _text;

    /// <summary>The set with no labels.</summary>
    public static LabelSet Empty { get; } = new([]);

    private LabelSet(Label[] sortedValidated)
    {
        _labels = sortedValidated;
        Fingerprint = ComputeFingerprint(sortedValidated);
    }

    /// <summary>A stable 64-bit hash (FNV-1a over names and values) of this set; equal sets have equal fingerprints.</summary>
    public ulong Fingerprint { get; }

    /// <summary>The number of labels.</summary>
    public int Count => _labels.Length;

    /// <summary>The labels, sorted by name (ordinal).</summary>
    public ReadOnlySpan<Label> Labels => _labels;

    /// <summary>Whether any label is internal (its name starts with <c>__</c>).</summary>
    public bool HasInternal
    {
        get
        {
            foreach (var label in _labels)
            {
                if (label.IsInternal)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The label at <paramref name="index"/> in name order.</summary>
    /// <param name="index">Zero-based index.</param>
    public Label this[int index] => _labels[index];

    /// <summary>The value of the label named <paramref name="name"/>, or <see langword="null"/> when absent.</summary>
    /// <param name="name">The label name.</param>
    public string? this[string name] => TryGetValue(name, out var value) ? value : null;

    /// <summary>Creates a set from labels in any order.</summary>
    /// <param name="labels">The labels; empty values are left out.</param>
    /// <returns>The set.</returns>
    /// <exception cref="ArgumentException">A name is invalid or appears twice.</exception>
    public static LabelSet Create(params ReadOnlySpan<Label> labels)
    {
        if (!TryCreate(labels, out var set, out var error))
        {
            throw new ArgumentException(error, nameof(labels));
        }

        return set;
    }

    /// <summary>Creates a set from name/value pairs in any order.</summary>
    /// <param name="labels">The pairs; empty values are left out.</param>
    /// <returns>The set.</returns>
    /// <exception cref="ArgumentException">A name is invalid or appears twice.</exception>
    public static LabelSet Create(IEnumerable<KeyValuePair<string, string>> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var list = new List<Label>();
        foreach (var pair in labels)
        {
            list.Add(new Label(pair.Key, pair.Value));
        }

        return Create(CollectionsMarshal.AsSpan(list));
    }

    /// <summary>Creates a set from labels in any order, without throwing.</summary>
    /// <param name="labels">The labels; empty values are left out.</param>
    /// <param name="set">The set, when valid.</param>
    /// <param name="error">What was wrong, when not valid.</param>
    /// <returns>Whether the labels form a valid set.</returns>
    public static bool TryCreate(ReadOnlySpan<Label> labels, [NotNullWhen(true)] out LabelSet? set, [NotNullWhen(false)] out string? error)
    {
        var count = 0;
        foreach (var label in labels)
        {
            if (!string.IsNullOrEmpty(label.Value))
            {
                count++;
            }
        }

        if (count == 0)
        {
            foreach (var label in labels)
            {
                if (!Label.IsValidName(label.Name))
                {
                    set = null;
                    error = $"invalid label name '{label.Name}'";
                    return false;
                }
            }

            set = Empty;
            error = null;
            return true;
        }

        var array = new Label[count];
        var i = 0;
        foreach (var label in labels)
        {
            if (!Label.IsValidName(label.Name))
            {
                set = null;
                error = $"invalid label name '{label.Name}'";
                return false;
            }

            if (!string.IsNullOrEmpty(label.Value))
            {
                array[i++] = label;
            }
        }

        return TryFromUnsorted(array, out set, out error);
    }

    /// <summary>Parses the text form <c>{a="b", c="d"}</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The set.</returns>
    /// <exception cref="FormatException">The text is not a valid label set; the message says what and where.</exception>
    public static LabelSet Parse(ReadOnlySpan<char> text)
    {
        if (!TryParse(text, out var set, out var error))
        {
            throw new FormatException($"invalid label set: {error}");
        }

        return set;
    }

    /// <summary>Parses the text form <c>{a="b", c="d"}</c> without throwing.</summary>
    /// <param name="text">The text.</param>
    /// <param name="set">The set, when valid.</param>
    /// <param name="error">What was wrong and at which position, when not valid.</param>
    /// <returns>Whether the text is a valid label set.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, [NotNullWhen(true)] out LabelSet? set, [NotNullWhen(false)] out string? error)
    {
        var list = new List<Label>();
        if (!LabelText.TryParse(text, list, out var parseError))
        {
            set = null;
            error = parseError ?? "invalid label set";
            return false;
        }

        list.RemoveAll(static l => l.Value.Length == 0);
        if (list.Count == 0)
        {
            set = Empty;
            error = null;
            return true;
        }

        return TryFromUnsorted([.. list], out set, out error);
    }

    private static bool TryFromUnsorted(Label[] array, [NotNullWhen(true)] out LabelSet? set, [NotNullWhen(false)] out string? error)
    {
        Array.Sort(array, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (var i = 1; i < array.Length; i++)
        {
            if (string.Equals(array[i - 1].Name, array[i].Name, StringComparison.Ordinal))
            {
                set = null;
                error = $"duplicate label name '{array[i].Name}'";
                return false;
            }
        }

        set = new LabelSet(array);
        error = null;
        return true;
    }

    /// <summary>Wraps an array the caller guarantees sorted, valid, unique and without empty values.</summary>
    internal static LabelSet FromSortedUnchecked(Label[] sortedValidated) =>
        sortedValidated.Length == 0 ? Empty : new LabelSet(sortedValidated);

    /// <summary>Looks up a label value by name.</summary>
    /// <param name="name">The label name.</param>
    /// <param name="value">The value, when present.</param>
    /// <returns>Whether the label is present.</returns>
    public bool TryGetValue(string name, [NotNullWhen(true)] out string? value)
    {
        var index = IndexOf(name);
        if (index >= 0)
        {
            value = _labels[index].Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Whether a label named <paramref name="name"/> is present.</summary>
    /// <param name="name">The label name.</param>
    /// <returns><see langword="true"/> when present.</returns>
    public bool Contains(string name) => IndexOf(name) >= 0;

    internal int IndexOf(string name)
    {
        var labels = _labels;
        if (labels.Length <= 8)
        {
            for (var i = 0; i < labels.Length; i++)
            {
                if (string.Equals(labels[i].Name, name, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }

        int lo = 0, hi = labels.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = string.CompareOrdinal(labels[mid].Name, name);
            if (cmp == 0)
            {
                return mid;
            }

            if (cmp < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }

    /// <summary>A builder that starts from this set, for adding, changing and removing labels.</summary>
    /// <returns>A new builder.</returns>
    public LabelSetBuilder ToBuilder() => new(this);

    /// <summary>This set without internal (<c>__</c>-prefixed) labels; returns this instance when it has none.</summary>
    /// <returns>The public labels.</returns>
    public LabelSet WithoutInternal()
    {
        if (!HasInternal)
        {
            return this;
        }

        var kept = new List<Label>(_labels.Length);
        foreach (var label in _labels)
        {
            if (!label.IsInternal)
            {
                kept.Add(label);
            }
        }

        return FromSortedUnchecked([.. kept]);
    }

    /// <summary>The text form <c>{a="b", c="d"}</c>, with values escaped as Prometheus does; computed once.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => _text ??= LabelText.Format(_labels);

    /// <inheritdoc/>
    public bool Equals(LabelSet? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other.Fingerprint != Fingerprint || other._labels.Length != _labels.Length)
        {
            return false;
        }

        return _labels.AsSpan().SequenceEqual(other._labels);
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is LabelSet other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (int)(Fingerprint ^ (Fingerprint >> 32));

    /// <summary>Compares two sets by content.</summary>
    /// <param name="left">One set.</param>
    /// <param name="right">The other set.</param>
    /// <returns>Whether they hold the same labels.</returns>
    public static bool operator ==(LabelSet? left, LabelSet? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two sets by content.</summary>
    /// <param name="left">One set.</param>
    /// <param name="right">The other set.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(LabelSet? left, LabelSet? right) => !(left == right);

    /// <summary>Enumerates the labels in name order without allocating.</summary>
    /// <returns>The enumerator.</returns>
    public ReadOnlySpan<Label>.Enumerator GetEnumerator() => Labels.GetEnumerator();

    IEnumerator<Label> IEnumerable<Label>.GetEnumerator() => ((IEnumerable<Label>)_labels).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _labels.GetEnumerator();

    private static ulong ComputeFingerprint(Label[] labels)
    {
        var hash = FnvOffset;
        foreach (var label in labels)
        {
            hash = Hash(hash, label.Name);
            hash = (hash ^ 0xff) * FnvPrime;
            hash = Hash(hash, label.Value);
            hash = (hash ^ 0xfe) * FnvPrime;
        }

        return hash;
    }

    private static ulong Hash(ulong hash, string text)
    {
        foreach (var c in text)
        {
            // Both bytes of each UTF-16 unit: stable across processes and platforms, unlike string.GetHashCode.
            hash = (hash ^ (byte)c) * FnvPrime;
            hash = (hash ^ (byte)(c >> 8)) * FnvPrime;
        }

        return hash;
    }
}
