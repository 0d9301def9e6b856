using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Health;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// The health collector with the parts every agent has (the engine's models, the data disk, the accelerator
    /// self-check) and the one reporting loop. Each other feature registers its own <see cref="IHealthContributor"/>,
    /// and each configured transport its <see cref="IHealthSink"/>, in that feature's <c>Add…</c>.
    /// </summary>
    public static IServiceCollection AddHealthReporting(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<AgentEventLog>();
        services.TryAddSingleton<HealthMetrics>();
        services.TryAddSingleton<RequestStatistics>();
        services.TryAddSingleton<AcceleratorSelfCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<AcceleratorSelfCheck>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, AcceleratorSelfCheck>(sp => sp.GetRequiredService<AcceleratorSelfCheck>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, EngineHealthContributor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, DiskHealthContributor>());
        services.TryAddSingleton<HealthCollector>();
        services.AddHostedService<HealthReportingService>();
        return services;
    }

    /// <summary>
    /// The MQTT health publisher with its options from <c>EdgeMl:Mqtt</c>, and its sink; the device id falls back to
    /// <c>EdgeMl:DeviceId</c> straight from configuration, so a problem elsewhere in EdgeMl does not hide this section's own.
    /// </summary>
    public static IServiceCollection AddMqttHealthReporting(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddMqttHealth();
        services.AddOptionsSection<MqttHealthOptions>(configuration.GetSection(MqttHealthOptions.Section), static (c, o) => c.Bind(o));
        services.AddOptions<MqttHealthOptions>().Bind(configuration.GetSection(MqttHealthOptions.Section))
            .PostConfigure(mqtt => mqtt.DeviceId = configuration[$"{MqttHealthOptions.Section}:DeviceId"] ?? configuration[$"{AgentOptions.Section}:DeviceId"] ?? new AgentOptions().DeviceId);
        return services.AddMqttHealthSink();
    }

    /// <summary>The broker link in the health document, and MQTT as a health sink, for a registered <see cref="IHealthPublisher"/>.</summary>
    internal static IServiceCollection AddMqttHealthSink(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, BrokerHealthContributor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthSink, MqttHealthSink>());
        return services;
    }
}
