using EdgeMl.Agent.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Serving;

internal static class ServingServiceCollectionExtensions
{
    /// <summary>
    /// The one prediction pipeline every front door uses (its observers are registered by the features that watch
    /// predictions), readiness, and the stop's drain (<see cref="ShutdownDrain"/>) as a lifecycle service.
    /// </summary>
    public static IServiceCollection AddServing(this IServiceCollection services) => services.AddPredictionPipeline().AddShutdownDrain();

    /// <summary>The pipeline and readiness alone: what a front door needs to serve.</summary>
    public static IServiceCollection AddPredictionPipeline(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PredictionPipeline>();
        services.TryAddSingleton<ServingReadiness>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, ReadinessHealthContributor>());
        return services;
    }

    public static IServiceCollection AddShutdownDrain(this IServiceCollection services)
    {
        services.TryAddSingleton<ShutdownDrain>();
        services.TryAddSingleton<ServingMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        return services;
    }
}
