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

    public CompiledPipeline(IReadOnlyList<StageExpr> stages)
    {
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
            _stages[i - prefixCount] = LogStage.Create(stages[i]);
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
            var baseLabels = entry.StructuredMetadata is null ? StreamLabels : LabelsBuilder.Merge(StreamLabels, entry.StructuredMetadata);
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
