using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace EdgeMl.Agent.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Metrics (Prometheus on <c>/metrics</c>) through OpenTelemetry. Registered once: the HTTP API asks for it on
    /// its own (tests host it alone), the agent first with its configuration.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration? configuration = null)
    {
        if (services.Any(d => d.ServiceType == typeof(TelemetryMarker)))
        {
            return services;
        }

        services.TryAddSingleton<TelemetryMarker>();
        services.AddMetrics();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddEdgeMlMetrics());
        return services;
    }

    /// <summary>
    /// Builds the meter provider now, before any hosted service starts: a measurement taken before the provider exists
    /// is lost, and counters must count from process start, not from the first scrape or the telemetry service's turn.
    /// </summary>
    public static IServiceProvider StartTelemetry(this IServiceProvider services)
    {
        _ = services.GetService<MeterProvider>();
        return services;
    }

    private sealed class TelemetryMarker;
}
