using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Gpio;
using EdgeMl.Agent.Serving;
using EdgeMl.Runtime.Serving;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Methods;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Registries;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Packages;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Hosting;

/// <summary>Composition of the agent: every part's registration, in one place, each part through its own <c>Add…</c>.</summary>
internal static class AgentServiceCollectionExtensions
{
    public const string IoTHubSection = "EdgeMl:IoTHub";

    public static IServiceCollection AddAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var edgeMl = configuration.GetSection(AgentOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(configuration); // the host registers it already; a bare container (tests, tools) needs it too
        services.AddMetrics();
        services.AddOptionsWithValidateOnStart<AgentOptions>().Bind(edgeMl);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsRules>());
        services.AddOptionsWithValidateOnStart<HttpApiOptions>().Bind(configuration.GetSection(HttpApiOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpApiOptions>, HttpApiOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpApiOptions>, HttpApiOptionsRules>());

        services.AddEdgeMlRuntime();
        services.AddModelDistribution(_ => { }, _ => { });
        services.AddOptions<ModelStoreOptions>().Configure<IOptions<AgentOptions>>((store, agent) => store.DataDirectory = agent.Value.DataDirectory);
        services.AddOptions<DownloadOptions>().Bind(edgeMl.GetSection("Download"));
        services.TryAddSingleton(TrustFrom);
        services.AddModelSync();

        // Every front door's predictions feed the GPIO triggers' latest sample (a no-op for models no trigger names).
        services.TryAddSingleton(sp =>
        {
            var pipeline = new PredictionPipeline(
                sp.GetRequiredService<InferenceEngine>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<CaptureRecorder>(), sp.GetService<DriftRegistry>());
            pipeline.Served += sp.GetRequiredService<LatestSampleCache>().Remember;
            return pipeline;
        });
        services.AddHttpApi();
        services.AddShutdownDrain();
        services.TryAddSingleton<LoggingGpioSink>();
        services.TryAddSingleton<IGpioSink, AgentGpioSink>();
        services.AddGpio(configuration);

        // Capture and drift read EdgeMl:Capture, EdgeMl:Drift and EdgeMl:Upload; models' desired capture settings overlay them.
        services.AddCapture(edgeMl);
        services.TryAddSingleton<DesiredCaptureSettings>();
        services.AddSingleton<IPostConfigureOptions<CaptureSettings>>(sp => sp.GetRequiredService<DesiredCaptureSettings>());
        services.AddSingleton<IOptionsChangeTokenSource<CaptureSettings>>(sp => sp.GetRequiredService<DesiredCaptureSettings>());
        if (edgeMl.GetSection(UploadOptions.Section) is { } upload && (upload["ConnectionString"] is { Length: > 0 } || upload["ContainerUri"] is { Length: > 0 }))
        {
            services.AddCaptureUpload(edgeMl);
            // The device id straight from configuration, so a problem elsewhere in EdgeMl does not hide this section's own.
            services.AddOptions<UploadOptions>().PostConfigure(u => u.DeviceId = u.DeviceId is { Length: > 0 } ? u.DeviceId : edgeMl["DeviceId"] ?? new AgentOptions().DeviceId);
        }

        services.AddMqttHealth();
        // The device id straight from configuration, so a problem elsewhere in EdgeMl does not hide this section's own.
        services.AddOptions<MqttHealthOptions>().Bind(configuration.GetSection(MqttHealthOptions.Section))
            .PostConfigure(mqtt => mqtt.DeviceId = configuration[$"{MqttHealthOptions.Section}:DeviceId"] ?? edgeMl["DeviceId"] ?? new AgentOptions().DeviceId);

        if (IsIoTHubConfigured(configuration))
        {
            services.AddIoTHubClient();
            services.AddOptions<IoTHubClientOptions>().Bind(configuration.GetSection(IoTHubSection));
            services.AddHostedService<DesiredPropertiesListener>();
            services.AddHostedService<DesiredAcknowledger>();
            services.AddHostedService<ModuleInferenceRoute>();
        }

        // After MQTT and the hub: the reporters find whichever of them is registered.
        services.AddHealthReporting();
        services.AddDirectMethods();
        return services;
    }

    public static IServiceCollection AddModelSync(this IServiceCollection services)
    {
        services.TryAddSingleton<AgentEventLog>();
        services.TryAddSingleton<ModelSyncStatus>();
        services.TryAddSingleton<DesiredStateSource>();
        services.TryAddSingleton<ModelSettingsFactory>();
        services.TryAddSingleton<ModelActivation>();
        services.TryAddSingleton<ModelSync>();
        services.TryAddSingleton<IModelControl>(sp => sp.GetRequiredService<ModelSync>());
        services.AddHostedService(sp => sp.GetRequiredService<ModelSync>());
        return services;
    }

    /// <summary>The stop's drain (<see cref="ShutdownDrain"/>) as a lifecycle service, and its metrics.</summary>
    public static IServiceCollection AddShutdownDrain(this IServiceCollection services)
    {
        services.TryAddSingleton<ShutdownDrain>();
        services.TryAddSingleton<ServingMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        return services;
    }

    /// <summary>The agent's own endpoints beside the Open Inference Protocol.</summary>
    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app) => app.MapHealthApi().MapSupportBundle();

    /// <summary>A connection string in configuration, or the variables IoT Edge gives a module.</summary>
    public static bool IsIoTHubConfigured(IConfiguration configuration) =>
        configuration[$"{IoTHubSection}:ConnectionString"] is { Length: > 0 }
        || Environment.GetEnvironmentVariable("EdgeHubConnectionString") is { Length: > 0 }
        || Environment.GetEnvironmentVariable("IotHubConnectionString") is { Length: > 0 }
        || Environment.GetEnvironmentVariable("IOTEDGE_WORKLOADURI") is { Length: > 0 };

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
}
