using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Hosting.Logging;
using Pipeline.Runtime;

namespace Pipeline.Hosting;

/// <summary>Adds log pipelines and the in-app logger source to a Generic Host.</summary>
public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// Adds a pipeline that runs with the host. If the app's logging goes to the pipeline
    /// (<see cref="AddPipeline(ILoggingBuilder, Action{PipelineLoggerOptions}?)"/>), that source is added first,
    /// named <c>app</c>; <paramref name="configure"/> adds further sources, the stages and the sinks.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adds sources, stages and sinks.</param>
    /// <param name="options">Adjusts pipeline options; the host's logger factory and (if registered) <see cref="TimeProvider"/> are set first.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddLogPipeline(this IServiceCollection services, Action<IServiceProvider, LogPipelineBuilder> configure, Action<PipelineOptions>? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddSingleton<IHostedService>(sp => new PipelineHostedService(() =>
        {
            var pipelineOptions = new PipelineOptions
            {
                LoggerFactory = sp.GetService<ILoggerFactory>() ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
                TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
            };
            options?.Invoke(pipelineOptions);
            var builder = LogPipeline.Create(pipelineOptions);
            if (sp.GetService<LoggerSource>() is { } appLogs)
            {
                builder.From(appLogs, "app");
            }

            configure(sp, builder);
            return builder.Build();
        }));
        return services;
    }

    /// <summary>
    /// Sends the app's <see cref="ILogger"/> output into the pipeline added with <c>AddLogPipeline</c>. Logging
    /// calls never block: when the buffer is full, records are dropped and counted.
    /// </summary>
    /// <param name="logging">The logging builder.</param>
    /// <param name="configure">Labels, minimum level, buffer capacity.</param>
    /// <returns>The logging builder.</returns>
    public static ILoggingBuilder AddPipeline(this ILoggingBuilder logging, Action<PipelineLoggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(logging);
        var options = new PipelineLoggerOptions();
        configure?.Invoke(options);
        logging.Services.TryAddSingleton(sp => new LoggerSource(options, sp.GetService<TimeProvider>()));
        logging.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, PipelineLoggerProvider>());
        return logging;
    }
}
