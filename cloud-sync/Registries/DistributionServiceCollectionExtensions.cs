using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

public static class DistributionServiceCollectionExtensions
{
    /// <summary>
    /// The model store, the downloader and the registry kinds, with their options validated at start-up. Which
    /// registry and which keys come from desired state (<see cref="IModelRegistryFactory"/>, <see cref="TrustedKeys"/>).
    /// </summary>
    public static IServiceCollection AddModelDistribution(
        this IServiceCollection services, Action<ModelStoreOptions> configureStore, Action<DownloadOptions>? configureDownload = null)
    {
        services.AddOptionsWithValidateOnStart<ModelStoreOptions>().Configure(configureStore);
        services.AddOptionsWithValidateOnStart<DownloadOptions>().Configure(configureDownload ?? (_ => { }));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelStoreOptions>, ModelStoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DownloadOptions>, DownloadOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DistributionMetrics>();
        services.TryAddSingleton(sp => new ModelStore(
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ModelStore>>()));
        services.TryAddSingleton(sp => new FileDownloader(
            sp.GetRequiredService<IOptions<DownloadOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<FileDownloader>>(), sp.GetRequiredService<DistributionMetrics>()));
        return services.AddModelRegistries();
    }

    /// <summary>
    /// <see cref="IModelRegistryFactory"/> and the registry kinds it chooses from, one line a kind: a new kind is a class
    /// implementing <see cref="IRegistryKind"/> and its line here. Documents are read within <see cref="DownloadOptions"/>' limits.
    /// </summary>
    public static IServiceCollection AddModelRegistries(this IServiceCollection services)
    {
        services.AddOptions<DownloadOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RegistryHttpClient>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRegistryKind, FolderRegistryKind>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRegistryKind, HttpRegistryKind>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRegistryKind, BlobRegistryKind>());
        services.TryAddSingleton<IModelRegistryFactory, ModelRegistryFactory>();
        return services;
    }
}
