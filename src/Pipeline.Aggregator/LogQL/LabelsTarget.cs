using System.Text;
using Pipeline.LogQL.Extraction;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// LogQL's semantics for the shared extractors: values become labels of the entry, named <c>names[i]</c> or after the
/// key found (sanitized), with <c>_extracted</c> appended when the entry already has that label; with
/// <c>firstWins</c> (parsers that take every key) a label already parsed is kept. With <c>needed</c>, a key whose label
/// nothing downstream reads is not made a label (the line is still parsed whole, so errors are as without it).
/// </summary>
internal readonly struct LabelsTarget(LabelsBuilder labels, string[]? names, bool firstWins, IReadOnlySet<string>? needed = null) : IExtractionTarget
{
    public void Set(int output, ReadOnlySpan<byte> value) => labels.SetParsed(labels.ParsedName(names![output]), Encoding.UTF8.GetString(value), firstWins);

    public void Set(int output, ReadOnlySpan<char> value) => labels.SetParsed(labels.ParsedName(names![output]), new string(value), firstWins);

    public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var name = labels.KeyName(key);
        if (needed is null || needed.Contains(name))
        {
            labels.SetParsed(name, Encoding.UTF8.GetString(value), firstWins);
        }
    }
}
