using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Pipeline.Prometheus.Exposition;

/// <summary>Serves <see cref="PrometheusMetrics"/> on an ASP.NET Core (Kestrel) endpoint.</summary>
public static class PrometheusEndpointRouteBuilderExtensions
{
    /// <summary>The default path.</summary>
    public const string DefaultPattern = "/metrics";

    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> to the <see cref="PrometheusMetrics"/> registered in the services
    /// (see <see cref="AddPrometheusMetrics"/>). Answers OpenMetrics when the <c>Accept</c> header prefers it, else text 0.0.4.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The path.</param>
    /// <returns>The endpoint's convention builder (to add authorization, host filters, ...).</returns>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, string pattern = DefaultPattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGet(pattern, static context => ServeAsync(context, context.RequestServices.GetRequiredService<PrometheusMetrics>()));
    }

    /// <summary>Maps <c>GET <paramref name="pattern"/></c> to the given <paramref name="metrics"/>.</summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="metrics">The metrics to serve.</param>
    /// <param name="pattern">The path.</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, PrometheusMetrics metrics, string pattern = DefaultPattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(metrics);
        return endpoints.MapGet(pattern, context => ServeAsync(context, metrics));
    }

    /// <summary>
    /// Registers a singleton <see cref="PrometheusMetrics"/> (disposed with the service provider), created when the
    /// host starts so that measurements made before the first scrape are counted.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Changes to the default options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, Action<PrometheusMetricsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(_ =>
        {
            var options = new PrometheusMetricsOptions();
            configure?.Invoke(options);
            return new PrometheusMetrics(options);
        });
        services.AddHostedService<PrometheusMetricsActivator>();
        return services;
    }

    private static async Task ServeAsync(HttpContext context, PrometheusMetrics metrics)
    {
        var format = PrometheusMetrics.NegotiateFormat(context.Request.Headers.Accept.ToString());
        context.Response.ContentType = PrometheusMetrics.GetContentType(format);
        context.Response.Headers.CacheControl = "no-store";
        metrics.WriteTo(context.Response.BodyWriter, format);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>Creates the <see cref="PrometheusMetrics"/> singleton when the host starts (listening begins then).</summary>
internal sealed class PrometheusMetricsActivator : IHostedService
{
    public PrometheusMetricsActivator(PrometheusMetrics metrics)
    {
        _ = metrics;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
