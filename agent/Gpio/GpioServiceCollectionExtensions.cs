using EdgeMl.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>
/// Registration of GPIO triggers and status lights from <c>EdgeMl:Gpio</c>. The latest sample of each triggered
/// model comes from the prediction pipeline (<see cref="LatestSampleCache"/> observes it); the host replaces
/// <see cref="IGpioSink"/> (default: log) and <see cref="IAgentStatusSignal"/> (default: from the engine's statuses)
/// as it likes. With no pins configured the services do nothing and no GPIO driver is opened.
/// </summary>
public static class GpioServiceCollectionExtensions
{
    public static IServiceCollection AddGpio(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddEdgeMlRuntime();
        services.AddMetrics();
        var section = configuration.GetSection(GpioOptions.Section);
        services.AddOptionsWithValidateOnStart<GpioOptions>().Bind(section);
        services.AddOptionsSection<GpioOptions>(section, static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GpioOptions>, GpioOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GpioOptions>, GpioOptionsCrossValidator>());
        services.TryAddSingleton<IGpioControllerFactory, BoardGpioControllerFactory>();
        services.TryAddSingleton<GpioPins>();
        services.TryAddSingleton<GpioMetrics>();
        services.TryAddSingleton<LatestSampleCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPredictionObserver, LatestSampleCache>(sp => sp.GetRequiredService<LatestSampleCache>()));
        services.TryAddSingleton<IGpioSink, LoggingGpioSink>();
        services.TryAddSingleton<IAgentStatusSignal, EngineStatusSignal>();
        services.AddHostedService<GpioTriggerService>();
        services.AddHostedService<StatusLightService>();
        return services;
    }

    /// <summary>GPIO as the agent runs it: what triggers produce goes to the agent's events and the edgeHub output.</summary>
    public static IServiceCollection AddAgentGpio(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<LoggingGpioSink>();
        services.TryAddSingleton<IGpioSink, AgentGpioSink>();
        return services.AddGpio(configuration);
    }
}
