using EdgeMl.Agent.Health;
using EdgeMl.Agent.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Drift;

internal static class DriftServiceCollectionExtensions
{
    /// <summary>Drift monitors per served version (<c>EdgeMl:Drift</c>), fed by every prediction, evaluated on a timer.</summary>
    public static IServiceCollection AddDrift(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsSection<DriftOptions>(configuration.GetSection(DriftOptions.Section), static (c, o) => c.Bind(o));
        services.AddOptionsWithValidateOnStart<DriftOptions>().Bind(configuration.GetSection(DriftOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DriftOptions>, DriftOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DriftOptions>, DriftOptionsRules>());
        services.TryAddSingleton<AgentEventLog>();
        services.TryAddSingleton<DriftRegistry>();
        services.TryAddSingleton<IDriftSignal>(sp => sp.GetRequiredService<DriftRegistry>());
        services.TryAddSingleton<DriftMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, DriftHealthContributor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPredictionObserver, DriftPredictionObserver>());
        services.TryAddSingleton<DriftEvaluationService>();
        services.AddHostedService(sp => sp.GetRequiredService<DriftEvaluationService>());
        return services;
    }
}
