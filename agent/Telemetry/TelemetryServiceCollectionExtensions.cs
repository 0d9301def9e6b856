using EdgeMl.Runtime.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EdgeMl.Agent.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Metrics (Prometheus on <c>/metrics</c>) through OpenTelemetry, and with <c>EdgeMl:Otlp:Endpoint</c> set, metrics
    /// and traces pushed to that collector. Registered once: the HTTP API asks for it on its own (tests host it alone),
    /// the agent first with its configuration.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration? configuration = null)
    {
        if (services.Any(d => d.ServiceType == typeof(TelemetryMarker)))
        {
            return services;
        }

        services.TryAddSingleton<TelemetryMarker>();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<History>();
        var otlp = new OtlpOptions();
        if (configuration is not null)
        {
            services.AddJsonLogging(configuration);
            var section = configuration.GetSection(OtlpOptions.Section);
            services.AddOptionsWithValidateOnStart<OtlpOptions>().Bind(section);
            services.AddOptionsSection<OtlpOptions>(section, static (c, o) => c.Bind(o));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OtlpOptions>, OtlpOptionsValidator>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OtlpOptions>, OtlpOptionsRules>());
            try
            {
                section.Bind(otlp);
            }
            catch (InvalidOperationException)
            {
                otlp = new OtlpOptions();
            }

            // Invalid settings are the start's validation to report, with every other section's; an exporter built
            // from them would throw first, and alone.
            if (new OtlpOptionsRules().Validate(null, otlp).Failed)
            {
                otlp = new OtlpOptions();
            }
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("edgeml", serviceVersion: typeof(TelemetryServiceCollectionExtensions).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(metrics =>
            {
                metrics.AddEdgeMlMetrics();
                if (otlp.Enabled)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, otlp, "metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)otlp.MetricsInterval.TotalMilliseconds;
                    });
                }
            });

        // Traces only when someone receives them: without a listener every span start is one cheap check.
        if (otlp.Enabled)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(EdgeMlTracing.SourceName).AddOtlpExporter(exporter => Configure(exporter, otlp, "traces")));
        }

        return services;
    }

    /// <summary>
    /// Builds the meter and tracer providers now, before any hosted service starts: a measurement taken before the
    /// provider exists is lost, and counters must count from process start, not from the first scrape.
    /// </summary>
    public static IServiceProvider StartTelemetry(this IServiceProvider services)
    {
        _ = services.GetService<MeterProvider>();
        _ = services.GetService<TracerProvider>();
        _ = services.GetService<History>();
        return services;
    }

    private static void Configure(OtlpExporterOptions exporter, OtlpOptions otlp, string signal)
    {
        exporter.Endpoint = otlp.SignalEndpoint(signal);
        exporter.Protocol = otlp.Protocol == OtlpOptions.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        exporter.Headers = otlp.Headers;
    }

    private sealed class TelemetryMarker;
}
