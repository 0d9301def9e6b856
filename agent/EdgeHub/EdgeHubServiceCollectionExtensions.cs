using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Configuration;
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
        services.AddHostedService<DesiredPropertiesListener>();
        services.AddHostedService<DesiredAcknowledger>();
        services.AddHostedService<ModuleInferenceRoute>();
        return services;
    }
}
