using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// A log pipeline compiled once per query: the leading line filters, run on the raw stored bytes before anything
/// else, then the other stages. <see cref="ForStream"/> gives the per-stream processor that holds the reused state.
/// </summary>
internal sealed class CompiledPipeline
{
    private readonly LineFilter[] _prefix;
    private readonly LogStage[] _stages;

    /// <summary>Compiles stages.</summary>
    /// <param name="stages">The pipeline.</param>
    /// <param name="resultLabels">
    /// When only these labels of an entry matter to the result (a grouping kept while ranging), parsers that take every
    /// key make labels only of those and of what later stages read; <see langword="null"/> keeps every label.
    /// </param>
    /// <param name="unwrap">The unwrap of a range, whose label and filters are read too.</param>
    public CompiledPipeline(IReadOnlyList<StageExpr> stages, IReadOnlyList<string>? resultLabels = null, UnwrapExpr? unwrap = null)
    {
        var needed = resultLabels is null ? null : NeededLabels(stages, resultLabels, unwrap);
        var prefixCount = 0;
        while (prefixCount < stages.Count && stages[prefixCount] is LineFilterExpr)
        {
            prefixCount++;
        }

        _prefix = new LineFilter[prefixCount];
        for (var i = 0; i < prefixCount; i++)
        {
            _prefix[i] = new LineFilter((LineFilterExpr)stages[i]);
        }

        _stages = new LogStage[stages.Count - prefixCount];
        for (var i = prefixCount; i < stages.Count; i++)
        {
            _stages[i - prefixCount] = LogStage.Create(stages[i], needed);
        }
    }

    /// <summary>
    /// The labels that the stages, the unwrap and the result read, or <see langword="null"/> when a stage may read any
    /// label (templates of line_format and label_format, unpack).
    /// </summary>
    private static HashSet<string>? NeededLabels(IReadOnlyList<StageExpr> stages, IReadOnlyList<string> resultLabels, UnwrapExpr? unwrap)
    {
        var needed = new HashSet<string>(resultLabels, StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            switch (stage)
            {
                case LineFilterExpr or JsonParserExpr or LogfmtParserExpr or RegexpParserExpr or PatternParserExpr or DecolorizeExpr:
                    break;
                case LabelFilterStageExpr filter when AddNames(filter.Filter, needed):
                    break;
                case DropLabelsExpr drop:
                    foreach (var item in drop.Items)
                    {
                        needed.Add(item.Name);
                    }

                    break;
                default:
                    return null;
            }
        }

        if (unwrap is not null)
        {
            needed.Add(unwrap.Label);
            foreach (var filter in unwrap.PostFilters)
            {
                if (!AddNames(filter, needed))
                {
                    return null;
                }
            }
        }

        return needed;
    }

    /// <summary>Adds the labels a filter reads; <see langword="false"/> for a kind of filter not known here.</summary>
    private static bool AddNames(LabelFilter filter, HashSet<string> into)
    {
        switch (filter)
        {
            case BinaryLabelFilter binary:
                return AddNames(binary.Left, into) && AddNames(binary.Right, into);
            case StringLabelFilter s:
                into.Add(s.Matcher.Name);
                return true;
            case NumericLabelFilter n:
                into.Add(n.Name);
                return true;
            case IpLabelFilter ip:
                into.Add(ip.Name);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Whether labels can change per entry (a parser, formatter or drop runs).</summary>
    public bool HasStages => _stages.Length > 0;

    public StreamProcessor ForStream(LabelSet streamLabels) => new(this, streamLabels);

    internal sealed class StreamProcessor(CompiledPipeline pipeline, LabelSet streamLabels)
    {
        private readonly LabelsBuilder _labels = new();

        public LineState Line { get; } = new();

        public LabelsBuilder Labels => _labels;

        public LabelSet StreamLabels { get; } = streamLabels;

        private readonly (LabelSet Metadata, LabelSet Labels)[] _merged = new (LabelSet, LabelSet)[8];
        private int _mergedCount;
        private int _mergedNext;

        /// <summary>
        /// The stream's labels with an entry's metadata, built once per distinct metadata set (storage hands out one
        /// instance per set, so the few recent ones are found by reference).
        /// </summary>
        private LabelSet Merged(LabelSet metadata)
        {
            for (var i = 0; i < _mergedCount; i++)
            {
                if (ReferenceEquals(_merged[i].Metadata, metadata))
                {
                    return _merged[i].Labels;
                }
            }

            var labels = LabelsBuilder.Merge(StreamLabels, metadata);
            _merged[_mergedNext] = (metadata, labels);
            _mergedNext = (_mergedNext + 1) % _merged.Length;
            _mergedCount = Math.Min(_mergedCount + 1, _merged.Length);
            return labels;
        }

        /// <summary>Runs the entry through the pipeline; on <see langword="true"/>, <see cref="Line"/> and <see cref="Labels"/> hold the result.</summary>
        public bool Process(in StoredEntry entry)
        {
            var bytes = entry.Line.Span;
            foreach (var filter in pipeline._prefix)
            {
                if (!filter.Matches(bytes))
                {
                    return false;
                }
            }

            Line.Reset(entry.Timestamp, entry.Line);
            var baseLabels = entry.StructuredMetadata is null ? StreamLabels : Merged(entry.StructuredMetadata);
            _labels.Reset(baseLabels);
            foreach (var stage in pipeline._stages)
            {
                if (!stage.Process(Line, _labels))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
