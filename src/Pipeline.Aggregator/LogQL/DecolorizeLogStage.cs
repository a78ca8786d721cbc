namespace Pipeline.Aggregator.LogQL;

/// <summary><c>| decolorize</c>: removes ANSI escape sequences from the line.</summary>
internal sealed class DecolorizeLogStage : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels)
    {
        line.Decolorize();
        return true;
    }
}
