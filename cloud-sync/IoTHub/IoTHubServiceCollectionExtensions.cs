using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.IoTHub;

public static class IoTHubServiceCollectionExtensions
{
    /// <summary>
    /// Registers the IoT Hub client as <see cref="IIoTHubClient"/> and as the hosted service that keeps it
    /// connected (one instance, forwarded), with its options validated at start-up.
    /// </summary>
    public static IServiceCollection AddIoTHubClient(this IServiceCollection services, Action<IoTHubClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptionsWithValidateOnStart<IoTHubClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IoTHubClientOptions>, IoTHubClientOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IoTHubClientOptions>, IoTHubClientOptionsCrossValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IoTHubClient>();
        services.TryAddSingleton<IIoTHubClient>(sp => sp.GetRequiredService<IoTHubClient>());
        services.AddHostedService(sp => sp.GetRequiredService<IoTHubClient>());
        return services;
    }
}
