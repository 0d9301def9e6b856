using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.EdgeHub;

internal static class EdgeHubServiceCollectionExtensions
{
    /// <summary>
    /// With a hub configured (<see cref="IoTHubConfiguration"/>): the client, the twin's desired properties read and
    /// acknowledged, and the module's <c>infer</c> input. Without one, nothing: the agent runs on local configuration.
    /// </summary>
    public static IServiceCollection AddEdgeHub(this IServiceCollection services, IConfiguration configuration)
    {
        if (!IoTHubConfiguration.IsConfigured(configuration))
        {
            return services;
        }

        services.AddIoTHubClient();
        services.AddOptions<IoTHubClientOptions>().Bind(configuration.GetSection(IoTHubConfiguration.Section));
        services.AddOptionsSection<IoTHubClientOptions>(configuration.GetSection(IoTHubConfiguration.Section), static (c, o) => c.Bind(o));
        services.AddHostedService<DesiredPropertiesListener>();
        services.AddHostedService<DesiredAcknowledger>();
        services.AddHostedService<ModuleInferenceRoute>();
        return services.AddHubHealth();
    }

    /// <summary>The hub link in the health document, and the twin and telemetry as health sinks.</summary>
    public static IServiceCollection AddHubHealth(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, HubHealthContributor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthSink, TwinHealthSink>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthSink, TelemetryHealthSink>());
        return services;
    }
}
