using Pipeline.LogQL.Matching;

namespace Pipeline.Aggregator.LogQL;

internal sealed class LineFilterLogStage(LineFilter filter) : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels) => filter.Matches(line.Bytes);
}
