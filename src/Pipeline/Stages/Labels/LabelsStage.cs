using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>
/// Promtail's <c>labels</c> stage: sets labels from extracted values. A missing source leaves the label as it is; a
/// value that is not valid UTF-8 is skipped; an empty value removes the label (Prometheus semantics).
/// </summary>
/// <remarks>
/// The resulting <see cref="LabelSet"/> is cached per input set and values, so while a stream's values repeat
/// (the common case: <c>cri -&gt; regex(filename) -&gt; labels</c>) every line reuses the same instance and nothing is
/// allocated per line.
/// </remarks>
public sealed class LabelsStage : ILogStage
{
    private const int SlotsPerStream = 8;
    private const int MaxStreams = 4096;

    private readonly (string Label, string Source)[] _map;
    private readonly Dictionary<ulong, Slot[]> _cache = [];
    private readonly LabelSetBuilder _builder = new();
    private Slot? _last;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No labels, or an invalid label name.</exception>
    public LabelsStage(LabelsStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Values is null || options.Values.Count == 0)
        {
            throw new StageOptionsException("labels", "values", null, "at least one 'label: source' pair");
        }

        var map = new List<(string, string)>();
        foreach (var (label, source) in options.Values)
        {
            OptionNames.RequireLabelName(label, "labels", "values");
            map.Add((label, string.IsNullOrEmpty(source) ? label : source));
        }

        _map = [.. map];
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LabelsStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var input = entry.Labels;
        var extracted = entry.Extracted;

        if (_last is { } last && ReferenceEquals(last.Input, input) && last.Matches(_map, extracted))
        {
            entry.Labels = last.Output;
            return StageResult.Keep;
        }

        if (!_cache.TryGetValue(input.Fingerprint, out var slots))
        {
            if (_cache.Count >= MaxStreams)
            {
                _cache.Clear();
            }

            slots = new Slot[SlotsPerStream];
            _cache[input.Fingerprint] = slots;
        }

        var free = -1;
        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i];
            if (slot is null)
            {
                free = free < 0 ? i : free;
                continue;
            }

            if ((ReferenceEquals(slot.Input, input) || slot.Input.Equals(input)) && slot.Matches(_map, extracted))
            {
                _last = slot;
                entry.Labels = slot.Output;
                return StageResult.Keep;
            }
        }

        var output = Build(input, extracted);
        var fresh = new Slot(input, output, _map, extracted);
        if (free < 0)
        {
            // Round-robin replacement keeps the cost bounded when a stream's values keep changing.
            free = (int)((uint)Environment.TickCount % SlotsPerStream);
        }

        slots[free] = fresh;
        _last = fresh;
        entry.Labels = output;
        return StageResult.Keep;
    }

    private LabelSet Build(LabelSet input, LogFields extracted)
    {
        _builder.Reset(input);
        foreach (var (label, source) in _map)
        {
            if (extracted.TryGetValue(source, out var value) && Utf8Text.IsValid(value))
            {
                _builder.Set(label, Encoding.UTF8.GetString(value));
            }
        }

        return _builder.Build();
    }

    /// <summary>One cached (input, values) -> output.</summary>
    private sealed class Slot
    {
        private readonly byte[] _values;
        private readonly int[] _lengths; // -1: the source was missing

        public Slot(LabelSet input, LabelSet output, (string Label, string Source)[] map, LogFields extracted)
        {
            Input = input;
            Output = output;
            _lengths = new int[map.Length];
            var total = 0;
            for (var i = 0; i < map.Length; i++)
            {
                _lengths[i] = extracted.TryGetValue(map[i].Source, out var v) ? v.Length : -1;
                total += Math.Max(0, _lengths[i]);
            }

            _values = new byte[total];
            var offset = 0;
            for (var i = 0; i < map.Length; i++)
            {
                if (_lengths[i] > 0 && extracted.TryGetValue(map[i].Source, out var v))
                {
                    v.CopyTo(_values.AsSpan(offset));
                    offset += v.Length;
                }
            }
        }

        public LabelSet Input { get; }

        public LabelSet Output { get; }

        public bool Matches((string Label, string Source)[] map, LogFields extracted)
        {
            var offset = 0;
            for (var i = 0; i < map.Length; i++)
            {
                var present = extracted.TryGetValue(map[i].Source, out var v);
                var length = _lengths[i];
                if (!present)
                {
                    if (length != -1)
                    {
                        return false;
                    }

                    continue;
                }

                if (length != v.Length || !v.SequenceEqual(_values.AsSpan(offset, length)))
                {
                    return false;
                }

                offset += length;
            }

            return true;
        }
    }
}
