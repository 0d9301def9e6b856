using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Probation;

internal static class ProbationServiceCollectionExtensions
{
    /// <summary>Probation of newly promoted versions and shadow evaluation, fed from every prediction.</summary>
    public static IServiceCollection AddProbation(this IServiceCollection services)
    {
        services.AddModelSync();
        services.AddMetrics();
        services.TryAddSingleton<TrafficWindows>();
        services.TryAddSingleton<GoodVersions>();
        services.TryAddSingleton<ProvingStatus>();
        services.TryAddSingleton<ProvingMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, ProvingHealthContributor>());
        services.TryAddSingleton<ProbationService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPredictionObserver, TrafficWindows>(sp => sp.GetRequiredService<TrafficWindows>()));
        services.AddHostedService(sp => sp.GetRequiredService<ProbationService>());
        services.TryAddSingleton<ShadowTap>();
        services.TryAddSingleton<ShadowService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPredictionObserver, ShadowTap>(sp => sp.GetRequiredService<ShadowTap>()));
        services.AddHostedService(sp => sp.GetRequiredService<ShadowService>());
        return services;
    }
}
