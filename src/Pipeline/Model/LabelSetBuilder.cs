using System.Runtime.InteropServices;

namespace Pipeline.Model;

/// <summary>
/// Builds a <see cref="LabelSet"/> from a starting set by setting and removing labels. <see cref="Build"/>
/// returns the starting instance when nothing changed, so stages that usually change nothing allocate nothing.
/// </summary>
public sealed class LabelSetBuilder
{
    private readonly List<Label> _labels;
    private LabelSet _base;
    private bool _changed;

    /// <summary>Creates a builder starting from <paramref name="start"/> (or the empty set).</summary>
    /// <param name="start">The starting labels.</param>
    public LabelSetBuilder(LabelSet? start = null)
    {
        _base = start ?? LabelSet.Empty;
        _labels = new List<Label>(_base.Count + 4);
        _labels.AddRange(_base.Labels);
    }

    /// <summary>The current number of labels.</summary>
    public int Count => _labels.Count;

    /// <summary>Starts over from <paramref name="start"/>, keeping the builder's storage.</summary>
    /// <param name="start">The starting labels.</param>
    /// <returns>This builder.</returns>
    public LabelSetBuilder Reset(LabelSet start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _base = start;
        _labels.Clear();
        _labels.AddRange(start.Labels);
        _changed = false;
        return this;
    }

    /// <summary>The current value of a label, or <see langword="null"/>.</summary>
    /// <param name="name">The label name.</param>
    /// <returns>The value, or <see langword="null"/> when absent.</returns>
    public string? Get(string name)
    {
        var index = Find(name);
        return index >= 0 ? _labels[index].Value : null;
    }

    /// <summary>Sets a label; an empty or <see langword="null"/> value removes it (Prometheus semantics).</summary>
    /// <param name="name">The label name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The name is not a valid label name.</exception>
    public LabelSetBuilder Set(string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return Remove(name);
        }

        var index = Find(name);
        if (index >= 0)
        {
            if (!string.Equals(_labels[index].Value, value, StringComparison.Ordinal))
            {
                _labels[index] = new Label(_labels[index].Name, value);
                _changed = true;
            }

            return this;
        }

        if (!Label.IsValidName(name))
        {
            throw new ArgumentException($"invalid label name '{name}': names must match [a-zA-Z_][a-zA-Z0-9_]*", nameof(name));
        }

        _labels.Insert(~index, new Label(name, value));
        _changed = true;
        return this;
    }

    /// <summary>Removes a label if present.</summary>
    /// <param name="name">The label name.</param>
    /// <returns>This builder.</returns>
    public LabelSetBuilder Remove(string name)
    {
        var index = Find(name);
        if (index >= 0)
        {
            _labels.RemoveAt(index);
            _changed = true;
        }

        return this;
    }

    /// <summary>Removes every label for which <paramref name="predicate"/> is true.</summary>
    /// <param name="predicate">Which labels to remove.</param>
    /// <returns>This builder.</returns>
    public LabelSetBuilder RemoveWhere(Predicate<Label> predicate)
    {
        if (_labels.RemoveAll(predicate) > 0)
        {
            _changed = true;
        }

        return this;
    }

    /// <summary>The built set: the starting instance when nothing changed.</summary>
    /// <returns>The set.</returns>
    public LabelSet Build() => _changed ? LabelSet.FromSortedUnchecked([.. _labels]) : _base;

    private int Find(string name)
    {
        var span = CollectionsMarshal.AsSpan(_labels);
        int lo = 0, hi = span.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = string.CompareOrdinal(span[mid].Name, name);
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

        return ~lo;
    }
}
