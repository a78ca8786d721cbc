using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>
/// Remembers what a label stage made of each input label set, so a stage whose output depends only on the input
/// labels computes (and allocates) a new set once per stream, not once per line. Keyed by fingerprint and checked for
/// equality; bounded, so a stream of ever-new label sets cannot grow it without limit.
/// </summary>
internal sealed class LabelTransformCache
{
    private const int MaxEntries = 4096;

    private readonly Dictionary<ulong, (LabelSet Input, LabelSet? Output)> _map = [];
    private LabelSet? _lastInput;
    private LabelSet? _lastOutput;

    /// <summary>Looks up the output for <paramref name="input"/> (a <see langword="null"/> output is a cached "drop").</summary>
    public bool TryGet(LabelSet input, out LabelSet? output)
    {
        if (ReferenceEquals(input, _lastInput))
        {
            output = _lastOutput;
            return true;
        }

        if (_map.TryGetValue(input.Fingerprint, out var hit) && (ReferenceEquals(hit.Input, input) || hit.Input.Equals(input)))
        {
            _lastInput = input;
            _lastOutput = hit.Output;
            output = hit.Output;
            return true;
        }

        output = null;
        return false;
    }

    /// <summary>Records the output for <paramref name="input"/>.</summary>
    public void Add(LabelSet input, LabelSet? output)
    {
        if (_map.Count >= MaxEntries)
        {
            _map.Clear();
        }

        _map[input.Fingerprint] = (input, output);
        _lastInput = input;
        _lastOutput = output;
    }
}
