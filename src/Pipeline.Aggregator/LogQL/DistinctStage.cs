namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// <c>| distinct a, b</c>: keeps the first line of each combination of the labels' values, across all streams of the
/// query; a line without one of the labels is kept. The combinations seen are bounded by <see cref="MaxKeys"/>.
/// </summary>
internal sealed class DistinctStage(IReadOnlyList<string> names) : LogStage
{
    /// <summary>The most combinations a query may keep; beyond it the query is refused rather than growing.</summary>
    public const int MaxKeys = 100_000;

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly System.Text.StringBuilder _key = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        _key.Clear();
        foreach (var name in names)
        {
            var value = labels.Get(name);
            if (string.IsNullOrEmpty(value))
            {
                return true;
            }

            // Length-prefixed so that no value can run into the next one.
            _key.Append(value.Length).Append(':').Append(value);
        }

        var key = _key.ToString();
        if (_seen.Contains(key))
        {
            return false;
        }

        if (_seen.Count >= MaxKeys)
        {
            throw new LogQLLimitException($"distinct: more than {MaxKeys} distinct label combinations");
        }

        _seen.Add(key);
        return true;
    }
}
