using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

public static class DistributionServiceCollectionExtensions
{
    /// <summary>
    /// The model store and the downloader, with their options validated at start-up. Registries and trust come
    /// from desired state (<see cref="RegistryTarget"/>, <see cref="TrustedKeys"/>), so they are not registered here.
    /// </summary>
    public static IServiceCollection AddModelDistribution(
        this IServiceCollection services, Action<ModelStoreOptions> configureStore, Action<DownloadOptions>? configureDownload = null)
    {
        services.AddOptions<ModelStoreOptions>().Configure(configureStore).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DownloadOptions>().Configure(configureDownload ?? (_ => { })).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DistributionMetrics>();
        services.TryAddSingleton(sp => new ModelStore(
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ModelStore>>()));
        services.TryAddSingleton(sp => new FileDownloader(
            sp.GetRequiredService<IOptions<DownloadOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<FileDownloader>>(), sp.GetRequiredService<DistributionMetrics>()));
        return services;
    }
}
