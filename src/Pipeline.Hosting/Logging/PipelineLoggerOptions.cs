using Microsoft.Extensions.Logging;
using Pipeline.Model;

namespace Pipeline.Hosting.Logging;

/// <summary>How an app's <see cref="ILogger"/> output becomes log entries.</summary>
public sealed class PipelineLoggerOptions
{
    /// <summary>The default number of records buffered before logging calls start dropping.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>Labels of every entry (e.g. <c>app</c>, <c>env</c>); <c>level</c> is added per entry.</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal) { ["app"] = AppDomain.CurrentDomain.FriendlyName };

    /// <summary>The lowest level recorded.</summary>
    public LogLevel MinimumLevel { get; set; } = LogLevel.Information;

    /// <summary>Records buffered while the pipeline is busy; beyond this, logging calls drop records (counted) rather than wait.</summary>
    public int Capacity { get; set; } = DefaultCapacity;

    /// <summary>Whether logging scopes are sent as structured metadata (<c>scope</c>).</summary>
    public bool IncludeScopes { get; set; } = true;

    /// <summary>Category prefixes never recorded; by default the pipeline's own components, so they cannot feed back into themselves.</summary>
    public IList<string> ExcludedCategoryPrefixes { get; } = [Runtime.LogPipeline.ComponentCategoryPrefix, "Pipeline.Runtime."];

    internal LabelSet BuildBaseLabels()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        var builder = new LabelSetBuilder();
        foreach (var (name, value) in Labels)
        {
            if (!Label.IsValidName(name))
            {
                throw new ArgumentException($"PipelineLoggerOptions.Labels: '{name}' is not a valid label name; accepted: [a-zA-Z_][a-zA-Z0-9_]*", nameof(Labels));
            }

            builder.Set(name, value);
        }

        return builder.Build();
    }
}
