using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Methods;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.Agent.Tests.Health;

/// <summary>
/// The health parts composed as the host composes them: the real engine, event log, sync status and
/// <see cref="HealthServiceCollectionExtensions.AddHealthReporting"/>, plus whatever a test adds (a hub client, a publisher,
/// a drift registry) with the contributors and sinks its feature registers.
/// </summary>
internal sealed class HealthTestKit : IAsyncDisposable
{
    public const string Model = "ocr-cls";
    private readonly List<IHostedService> _started = [];

    private HealthTestKit(ServiceProvider services, string dataDirectory)
    {
        Services = services;
        DataDirectory = dataDirectory;
    }

    public ServiceProvider Services { get; }

    public string DataDirectory { get; }

    public InferenceEngine Engine => Services.GetRequiredService<InferenceEngine>();

    public HealthCollector Collector => Services.GetRequiredService<HealthCollector>();

    public AgentEventLog Events => Services.GetRequiredService<AgentEventLog>();

    public ModelSyncStatus Sync => Services.GetRequiredService<ModelSyncStatus>();

    public static HealthTestKit Create(TimeProvider? time = null, Action<IServiceCollection>? configure = null, IDictionary<string, string?>? configuration = null)
    {
        var data = Directory.CreateTempSubdirectory("edgeml-health-").FullName;
        var services = new ServiceCollection();
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddLogging(l => l.ClearProviders());
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? new Dictionary<string, string?>()).Build());
        services.AddMetrics();
        services.AddEdgeMlRuntime();
        services.Configure<AgentOptions>(o =>
        {
            o.DataDirectory = data;
            o.DeviceId = "dev-1";
        });
        services.AddSingleton<AgentEventLog>();
        services.AddSingleton<ModelSyncStatus>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, SyncHealthContributor>());
        configure?.Invoke(services);
        // What the features' own Add… register beside the parts a test adds: their contributors and sinks.
        services.TryAddSingleton<DesiredStateSource>();
        if (services.Any(d => d.ServiceType == typeof(IIoTHubClient)))
        {
            services.AddHubHealth();
        }

        if (services.Any(d => d.ServiceType == typeof(IHealthPublisher)))
        {
            services.AddMqttHealthSink();
        }

        if (services.Any(d => d.ServiceType == typeof(DriftRegistry)))
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthContributor, DriftHealthContributor>());
        }

        services.AddHealthReporting();
        services.AddDirectMethods();
        var provider = services.BuildServiceProvider();
        // As the host's reporters do at start: request statistics count from here on.
        provider.GetRequiredService<HealthCollector>();
        return new HealthTestKit(provider, data);
    }

    /// <summary>Starts the hosted services the health registration added, in order.</summary>
    public async Task StartReportersAsync()
    {
        foreach (var service in Services.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
            _started.Add(service);
        }
    }

    public async Task<ActivationResult> ActivateClassifierAsync(ProviderChainOptions? providers = null, string? modelPath = null, long version = 1, ServingOptions? serving = null) =>
        await Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = version,
            ModelPath = modelPath ?? ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = providers ?? ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
            Serving = serving ?? new ServingOptions(),
        });

    public async ValueTask DisposeAsync()
    {
        _started.Reverse();
        foreach (var service in _started)
        {
            await service.StopAsync(CancellationToken.None);
        }

        await Services.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>A client for <paramref name="identity"/> on the simulator, trusting its CA, on <paramref name="time"/>.</summary>
    public static IoTHubClient HubClient(Sim simulator, EdgeMl.IoTHubSimulator.SimulatedIdentity identity, TimeProvider time, out string caFile)
    {
        caFile = Path.Combine(Path.GetTempPath(), $"edgeml-sim-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(caFile, simulator.Certificates.CertificateAuthorityPem);
        var options = new IoTHubClientOptions
        {
            ConnectionString = simulator.ConnectionString(identity),
            TrustedCaCertificatePath = caFile,
            OperationTimeout = TimeSpan.FromSeconds(30),
            ReconnectSpread = TimeSpan.Zero, // one device: the fleet's spread is BackOffTests' subject
        };
        return new IoTHubClient(Options.Create(options), time, NullLogger<IoTHubClient>.Instance, new TestMeterFactory(), _ => null, () => 0.5);
    }
}
