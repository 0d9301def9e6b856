using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>
/// Registration of capture and drift. Both watch every prediction through an <see cref="IPredictionObserver"/>;
/// model activation calls <see cref="DriftRegistry.Activate"/> as versions are promoted.
/// </summary>
internal static class CaptureServiceCollectionExtensions
{
    public static IServiceCollection AddCapture(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();

        services.AddOptionsWithValidateOnStart<CaptureSettings>().Bind(configuration.GetSection(CaptureSettings.Section));
        services.AddOptionsSection<CaptureSettings>(configuration.GetSection(CaptureSettings.Section), static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CaptureSettings>, CaptureSettingsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CaptureSettings>, CaptureSettingsRules>());
        services.AddDrift(configuration);

        services.TryAddSingleton<CaptureMetrics>();
        services.TryAddSingleton<CaptureChannel>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, CaptureHealthContributor>());
        services.TryAddSingleton(sp =>
        {
            var store = CaptureStore.Open(
                sp.GetRequiredService<IOptions<CaptureSettings>>().Value.Store,
                sp.GetRequiredService<CaptureMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<CaptureStore>());
            // A corrupt database moved aside is reported where operators look (MQTT events, the diagnostics page),
            // not only in the log.
            if (store.Startup.MovedAsideTo is { } movedTo)
            {
                sp.GetRequiredService<AgentEventLog>().Add(AgentEventKinds.CaptureStoreReplaced, null, null,
                    $"capture store was corrupt ({store.Startup.Problem}); moved to {movedTo} and a fresh store started");
            }

            return store;
        });
        services.TryAddSingleton(sp => new CaptureRecorder(
            sp.GetRequiredService<IOptionsMonitor<CaptureSettings>>(),
            sp.GetRequiredService<CaptureChannel>(),
            sp.GetRequiredService<CaptureMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IDriftSignal>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPredictionObserver, CapturePredictionObserver>());
        services.TryAddSingleton<ICaptureUploadSource, CaptureUploadSource>();

        services.TryAddSingleton(sp =>
        {
            var writer = ActivatorUtilities.CreateInstance<CaptureWriterService>(sp);
            // New records wake the uploader instead of waiting for its idle interval.
            if (sp.GetService<ICaptureUploadTrigger>() is { } uploader)
            {
                writer.Committed = uploader.Wake;
            }

            return writer;
        });
        services.AddHostedService(sp => sp.GetRequiredService<CaptureWriterService>());
        return services;
    }

    /// <summary>
    /// Capture and drift from <c>EdgeMl:Capture</c> and <c>EdgeMl:Drift</c> of the agent's configuration, and the
    /// uploader when <c>EdgeMl:Upload</c> names a storage account or container.
    /// </summary>
    public static IServiceCollection AddCaptureWithUpload(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var edgeMl = configuration.GetSection(AgentOptions.Section);
        services.AddCapture(edgeMl);
        if (edgeMl.GetSection(UploadOptions.Section) is { } upload && (upload["ConnectionString"] is { Length: > 0 } || upload["ContainerUri"] is { Length: > 0 }))
        {
            services.AddCaptureUpload(edgeMl);
            services.AddOptionsSection<UploadOptions>(edgeMl.GetSection(UploadOptions.Section), static (c, o) => c.Bind(o));
            // The device id straight from configuration, so a problem elsewhere in EdgeMl does not hide this section's own.
            services.AddOptions<UploadOptions>().PostConfigure(u => u.DeviceId = u.DeviceId is { Length: > 0 } ? u.DeviceId : edgeMl["DeviceId"] ?? new AgentOptions().DeviceId);
        }

        return services;
    }
}
