using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// The MQTT health publisher (one singleton as publisher and hosted service) and the embedded broker, which
    /// starts only when no broker is configured; options validated at start-up.
    /// </summary>
    public static IServiceCollection AddMqttHealth(this IServiceCollection services, Action<MqttHealthOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptionsWithValidateOnStart<MqttHealthOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttHealthOptions>, MqttHealthOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttHealthOptions>, MqttHealthOptionsRules>());
        services.TryAddSingleton(TimeProvider.System);

        // Before the publisher, so the embedded broker listens before the publisher first connects.
        services.AddHostedService<EmbeddedBroker>();
        services.TryAddSingleton<MqttHealthPublisher>();
        services.TryAddSingleton<IHealthPublisher>(sp => sp.GetRequiredService<MqttHealthPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<MqttHealthPublisher>());
        return services;
    }
}
