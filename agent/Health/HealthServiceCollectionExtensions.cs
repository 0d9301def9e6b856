using EdgeMl.CloudSync.Health;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// The health collector and its reporters (twin, MQTT, telemetry). Each reporter finds
    /// what it reports to (<c>IIoTHubClient</c>, <c>IHealthPublisher</c>) with <c>GetService</c> and stays idle when
    /// the host did not register it; the same goes for capture, drift and model sync in the document.
    /// </summary>
    public static IServiceCollection AddHealthReporting(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<HealthMetrics>();
        services.TryAddSingleton<RequestStatistics>();
        services.TryAddSingleton<AcceleratorSelfCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<AcceleratorSelfCheck>());
        services.TryAddSingleton<HealthCollector>();
        services.AddHostedService<TwinHealthReporter>();
        services.AddHostedService<MqttHealthReporter>();
        services.AddHostedService<TelemetryHealthReporter>();
        return services;
    }

    /// <summary>
    /// The MQTT health publisher with its options from <c>EdgeMl:Mqtt</c>; the device id falls back to
    /// <c>EdgeMl:DeviceId</c> straight from configuration, so a problem elsewhere in EdgeMl does not hide this section's own.
    /// </summary>
    public static IServiceCollection AddMqttHealthReporting(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddMqttHealth();
        services.AddOptions<MqttHealthOptions>().Bind(configuration.GetSection(MqttHealthOptions.Section))
            .PostConfigure(mqtt => mqtt.DeviceId = configuration[$"{MqttHealthOptions.Section}:DeviceId"] ?? configuration[$"{AgentOptions.Section}:DeviceId"] ?? new AgentOptions().DeviceId);
        return services;
    }
}
