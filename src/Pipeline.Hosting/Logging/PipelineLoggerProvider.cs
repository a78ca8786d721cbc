using System.Text;
using Microsoft.Extensions.Logging;

namespace Pipeline.Hosting.Logging;

/// <summary>An <see cref="ILoggerProvider"/> whose loggers write into a <see cref="LoggerSource"/>; calls never block.</summary>
[ProviderAlias("Pipeline")]
public sealed class PipelineLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly LoggerSource _source;
    private IExternalScopeProvider? _scopes;

    /// <summary>Creates the provider.</summary>
    /// <param name="source">Where records go.</param>
    public PipelineLoggerProvider(LoggerSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
    }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName)
    {
        foreach (var prefix in _source.Options.ExcludedCategoryPrefixes)
        {
            if (categoryName.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            }
        }

        return new PipelineLogger(this, categoryName);
    }

    /// <inheritdoc/>
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class PipelineLogger(PipelineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider._source.Options.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string? scope = null;
            if (provider._source.Options.IncludeScopes && provider._scopes is { } scopes)
            {
                StringBuilder? text = null;
                scopes.ForEachScope((value, builder) => (text ??= new StringBuilder()).Append(text.Length > 0 ? " => " : string.Empty).Append(value), (object?)null);
                scope = text?.ToString();
            }

            provider._source.TryWrite(logLevel, category, eventId, formatter(state, exception), exception, scope);
        }
    }
}
