using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Desired;

internal static class DesiredServiceCollectionExtensions
{
    /// <summary>The desired state (embedded, persisted, then the twin's), and each desired model's capture policy laid over the configured capture settings.</summary>
    public static IServiceCollection AddDesiredState(this IServiceCollection services)
    {
        services.TryAddSingleton<DesiredStateSource>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, DesiredHealthContributor>());
        services.TryAddSingleton<DesiredCaptureSettings>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CaptureSettings>, DesiredCaptureSettings>(sp => sp.GetRequiredService<DesiredCaptureSettings>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<CaptureSettings>, DesiredCaptureSettings>(sp => sp.GetRequiredService<DesiredCaptureSettings>()));
        return services;
    }
}
