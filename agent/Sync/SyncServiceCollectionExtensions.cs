using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sync;

internal static class SyncServiceCollectionExtensions
{
    /// <summary>
    /// The runtime, the model store under the data folder, downloads (<c>EdgeMl:Download</c>), the trust policy from
    /// the configured keys, and model sync with its activation.
    /// </summary>
    public static IServiceCollection AddModelSync(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddEdgeMlRuntime();
        services.AddModelDistribution(NoChange, NoChange);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ModelStoreOptions>, StoreUnderDataDirectory>());
        services.AddOptions<DownloadOptions>().Bind(configuration.GetSection(AgentOptions.Section).GetSection("Download"));
        services.AddOptionsSection<DownloadOptions>(configuration.GetSection(AgentOptions.Section).GetSection("Download"), static (c, o) => c.Bind(o));
        services.AddOptionsSection<ModelStoreOptions>(configuration.GetSection(AgentOptions.Section), bindAlone: null); // the data folder, from EdgeMl
        services.TryAddSingleton(TrustFrom);
        return services.AddModelSync();
    }

    public static IServiceCollection AddModelSync(this IServiceCollection services)
    {
        services.TryAddSingleton<AgentEventLog>();
        services.TryAddSingleton<ModelSyncStatus>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, SyncHealthContributor>());
        services.TryAddSingleton<DesiredStateSource>();
        services.TryAddSingleton<ModelSettingsFactory>();
        services.TryAddSingleton<ModelActivation>();
        services.TryAddSingleton<ModelSync>();
        services.TryAddSingleton<IModelControl>(sp => sp.GetRequiredService<ModelSync>());
        services.AddHostedService(sp => sp.GetRequiredService<ModelSync>());
        return services;
    }

    private static void NoChange<T>(T options)
    {
    }

    private static TrustPolicy TrustFrom(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AgentOptions>>().Value;
        var logger = services.GetRequiredService<ILogger<AgentOptions>>();
        var keys = TrustedKeys.FromPem(options.TrustedKeyFiles.Select(File.ReadAllText));
        if (options.AllowUnsigned)
        {
            Log.UnsignedAllowed(logger);
        }
        else if (keys.KeyIds.Count == 0)
        {
            Log.NoTrustedKeys(logger);
        }

        return new TrustPolicy(keys, options.AllowUnsigned);
    }

    /// <summary>Models live in the agent's data folder.</summary>
    private sealed class StoreUnderDataDirectory(IOptions<AgentOptions> agent) : IConfigureOptions<ModelStoreOptions>
    {
        public void Configure(ModelStoreOptions options) => options.DataDirectory = agent.Value.DataDirectory;
    }
}
