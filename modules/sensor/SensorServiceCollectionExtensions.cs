using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Sensor;

internal static class SensorServiceCollectionExtensions
{
    /// <summary>
    /// The sensor and its edgeHub link: the same IoT Hub client the agent uses (section <c>IoTHub</c>; under IoT Edge
    /// nothing needs setting, the client reads <c>IOTEDGE_*</c> and signs through the workload API).
    /// </summary>
    public static IServiceCollection AddSensor(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddOptions<IoTHubClientOptions>().Bind(configuration.GetSection("IoTHub"));
        services.AddIoTHubClient();
        services.AddOptionsWithValidateOnStart<SensorOptions>().Bind(configuration.GetSection(SensorOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SensorOptions>, SensorOptionsValidator>());
        services.AddHostedService<FrameSender>();
        return services;
    }
}
