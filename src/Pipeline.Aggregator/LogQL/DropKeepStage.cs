using Pipeline.LogQL.Syntax;

namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| drop a, b="v"</c> and <c>| keep a, b</c>.</summary>
internal sealed class DropKeepStage(bool keep, IReadOnlyList<DropKeepItem> items) : LogStage
{
    private readonly List<string> _names = [];

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (!keep)
        {
            foreach (var item in items)
            {
                if (item.Matcher is null || (labels.Has(item.Name) && item.Matcher.Matches(labels.Get(item.Name))))
                {
                    labels.Delete(item.Name);
                }
            }

            return true;
        }

        labels.CollectNames(_names);
        foreach (var name in _names)
        {
            var kept = false;
            foreach (var item in items)
            {
                if (string.Equals(item.Name, name, StringComparison.Ordinal)
                    && (item.Matcher is null || item.Matcher.Matches(labels.Get(name))))
                {
                    kept = true;
                    break;
                }
            }

            if (!kept)
            {
                labels.Delete(name);
            }
        }

        return true;
    }
}
