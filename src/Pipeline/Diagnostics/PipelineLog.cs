using Microsoft.Extensions.Logging;

namespace Pipeline.Diagnostics;

/// <summary>The runtime's log messages.</summary>
internal static partial class PipelineLog
{
    [LoggerMessage(1, LogLevel.Information, "Pipeline {Pipeline} started: {Sources} source(s), {Stages} stage(s), {Sinks} sink(s)")]
    public static partial void Started(ILogger logger, string pipeline, int sources, int stages, int sinks);

    [LoggerMessage(2, LogLevel.Information, "Pipeline {Pipeline} stopped")]
    public static partial void Stopped(ILogger logger, string pipeline);

    [LoggerMessage(3, LogLevel.Error, "Component {Component} of pipeline {Pipeline} failed; the pipeline is stopping")]
    public static partial void ComponentFailed(ILogger logger, Exception exception, string pipeline, string component);

    [LoggerMessage(4, LogLevel.Warning, "Stage {Component} of pipeline {Pipeline} threw while processing an entry; the entry goes on unchanged by it")]
    public static partial void StageThrew(ILogger logger, Exception exception, string pipeline, string component);

    [LoggerMessage(5, LogLevel.Warning, "Pipeline {Pipeline} did not drain before the stop deadline; aborting. Entries not yet acknowledged keep their positions uncommitted")]
    public static partial void StopTimedOut(ILogger logger, string pipeline);
}
