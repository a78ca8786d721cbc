using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Templates;

namespace Pipeline.Aggregator.LogQL;

/// <summary>One step of a compiled log pipeline after the leading line filters.</summary>
internal abstract class LogStage
{
    public const string JsonParserError = "JSONParserErr";
    public const string LogfmtParserError = "LogfmtParserErr";
    public const string LabelFilterError = "LabelFilterErr";
    public const string TemplateFormatError = "TemplateFormatErr";
    public const string SampleExtractionError = "SampleExtractionErr";

    /// <summary>Processes the entry; <see langword="false"/> drops it.</summary>
    public abstract bool Process(LineState line, LabelsBuilder labels);

    /// <summary>Compiles a stage; <paramref name="needed"/>, when known, is every label the rest of the query reads.</summary>
    public static LogStage Create(StageExpr expr, IReadOnlySet<string>? needed = null) => expr switch
    {
        LineFilterExpr f => new LineFilterLogStage(new LineFilter(f)),
        JsonParserExpr j => new JsonParserStage(j.Parameters, needed),
        LogfmtParserExpr l => new LogfmtParserStage(l.Strict, l.KeepEmpty, l.Parameters, needed),
        RegexpParserExpr r => new RegexpParserStage(r.Pattern),
        PatternParserExpr p => new PatternParserStage(p.Pattern),
        UnpackParserExpr => new UnpackParserStage(),
        DecolorizeExpr => new DecolorizeLogStage(),
        LineFormatExpr l => new LineFormatStage(LineTemplates.Parse(l.Template)),
        LabelFormatExpr l => new LabelFormatStage(l.Items),
        DropLabelsExpr d => new DropKeepStage(d.Keep, d.Items),
        LabelFilterStageExpr f => new LabelFilterStage(f.Filter),
        DistinctExpr d => new DistinctStage(d.Labels),
        _ => throw new NotSupportedException($"stage {expr} is not supported"),
    };
}
