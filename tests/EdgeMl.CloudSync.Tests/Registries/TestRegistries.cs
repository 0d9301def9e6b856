using EdgeMl.CloudSync.Registries;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>Registries opened through the agent's composition (<see cref="DistributionServiceCollectionExtensions.AddModelRegistries"/>).</summary>
internal static class TestRegistries
{
    public static IModelRegistry Create(string target, DownloadOptions? limits = null, TimeProvider? time = null) => Factory(limits, time).Create(target);

    public static IModelRegistryFactory Factory(DownloadOptions? limits = null, TimeProvider? time = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(time ?? TimeProvider.System).AddSingleton(Options.Create(limits ?? new DownloadOptions()));
        configure?.Invoke(services);
        return services.AddModelRegistries().BuildServiceProvider().GetRequiredService<IModelRegistryFactory>();
    }
}
