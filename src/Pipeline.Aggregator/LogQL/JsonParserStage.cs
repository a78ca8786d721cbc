using System.Text;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Syntax;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// <c>| json</c>: every key (nested objects flattened with <c>_</c>), or only the given paths (null or absent: empty).
/// When only some labels are read downstream, only the keys that make those labels are extracted, and the line is read
/// only until each has been found (as Loki does).
/// </summary>
internal sealed class JsonParserStage : LogStage
{
    private const string DuplicateSuffix = "_extracted";

    private readonly JsonExtractor _extractor;
    private readonly string[]? _names;
    private readonly IReadOnlySet<string>? _needed;

    // The keys wanted for the labels the entry had when they were last worked out (a stream's labels, as a rule).
    private LabelSet? _wantedFor;
    private byte[][] _wantedKeys = [];
    private int[] _wantedOutputs = [];
    private string[] _wantedNames = [];
    private readonly (LabelSet Labels, byte[][] Keys, int[] Outputs, string[] Names)[] _recent = new (LabelSet, byte[][], int[], string[])[8];
    private int _recentCount;
    private int _recentNext;

    public JsonParserStage(IReadOnlyList<ExtractionParam> parameters, IReadOnlySet<string>? needed = null)
    {
        _needed = needed;
        if (parameters.Count == 0)
        {
            _extractor = JsonExtractor.ForAllKeys();
            return;
        }

        _extractor = JsonExtractor.ForPaths([.. parameters.Select(static p => p.Expression)], missingAsEmpty: true);
        _names = [.. parameters.Select(static p => p.Label)];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        bool ok;
        string? error;
        if (_names is null && _needed is not null)
        {
            if (!ReferenceEquals(_wantedFor, labels.Base) && !Recall(labels.Base))
            {
                Want(labels.Base);
            }

            var wanted = new WantedTarget(labels, _wantedNames);
            ok = _extractor.ExtractKeys(line.Bytes, _wantedKeys, _wantedOutputs, _wantedNames.Length, ref wanted, out error);
        }
        else
        {
            var target = new LabelsTarget(labels, _names, firstWins: _names is null, _needed);
            ok = _extractor.Extract(line.Bytes, ref target, out error);
        }

        if (!ok)
        {
            labels.SetError(JsonParserError, error);
        }

        return true;
    }

    /// <summary>
    /// The keys whose labels are needed, given the entry's labels: a key named like a label the entry has gives
    /// <c>key_extracted</c>, so a needed <c>n</c> comes from key <c>n</c> when the entry has no label <c>n</c>, and a
    /// needed <c>x_extracted</c> from key <c>x</c> when it has a label <c>x</c>.
    /// </summary>
    /// <summary>
    /// The keys worked out for one of the last few label sets (entries of a stream alternate between a few, one per
    /// metadata set such as each detected level); false when it is not among them.
    /// </summary>
    private bool Recall(LabelSet baseLabels)
    {
        for (var i = 0; i < _recentCount; i++)
        {
            var (labels, keys, outputs, names) = _recent[i];
            if (ReferenceEquals(labels, baseLabels))
            {
                (_wantedFor, _wantedKeys, _wantedOutputs, _wantedNames) = (labels, keys, outputs, names);
                return true;
            }
        }

        return false;
    }

    private void Want(LabelSet baseLabels)
    {
        var keys = new List<byte[]>();
        var outputs = new List<int>();
        var names = new List<string>();
        foreach (var name in _needed!)
        {
            var output = -1;
            if (!baseLabels.Contains(name))
            {
                output = names.Count;
                names.Add(name);
                keys.Add(Encoding.UTF8.GetBytes(name));
                outputs.Add(output);
            }

            if (name.EndsWith(DuplicateSuffix, StringComparison.Ordinal) && name.Length > DuplicateSuffix.Length &&
                baseLabels.Contains(name[..^DuplicateSuffix.Length]))
            {
                if (output < 0)
                {
                    output = names.Count;
                    names.Add(name);
                }

                keys.Add(Encoding.UTF8.GetBytes(name[..^DuplicateSuffix.Length]));
                outputs.Add(output);
            }
        }

        _wantedKeys = [.. keys];
        _wantedOutputs = [.. outputs];
        _wantedNames = [.. names];
        _wantedFor = baseLabels;
        _recent[_recentNext] = (baseLabels, _wantedKeys, _wantedOutputs, _wantedNames);
        _recentNext = (_recentNext + 1) % _recent.Length;
        _recentCount = Math.Min(_recentCount + 1, _recent.Length);
    }

    /// <summary>Sets output <c>i</c> as the label <c>names[i]</c>, the first value parsed winning.</summary>
    private readonly struct WantedTarget(LabelsBuilder labels, string[] names) : IExtractionTarget
    {
        public void Set(int output, ReadOnlySpan<byte> value) => labels.SetParsed(names[output], Encoding.UTF8.GetString(value), firstWins: true);

        public void Set(int output, ReadOnlySpan<char> value) => labels.SetParsed(names[output], new string(value), firstWins: true);

        public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
        }
    }
}
