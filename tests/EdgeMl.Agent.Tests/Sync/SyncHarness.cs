using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Sync;

/// <summary>
/// The agent's real composition (<c>AddAgent</c>) on a temp data folder with a folder registry of the real
/// classifier, signed by a key the agent trusts; model sync runs on a fake clock, waits follow its status.
/// </summary>
internal sealed class SyncHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);
    private readonly ServiceProvider _services;
    private readonly CancellationTokenSource _stop = new();
    private bool _started;

    private SyncHarness(ServiceProvider services, FakeTimeProvider time)
    {
        _services = services;
        Time = time;
    }

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => _services;

    public ModelSync Sync => _services.GetRequiredService<ModelSync>();

    public ModelSyncStatus Status => _services.GetRequiredService<ModelSyncStatus>();

    public InferenceEngine Engine => _services.GetRequiredService<InferenceEngine>();

    public ModelStore Store => _services.GetRequiredService<ModelStore>();

    public DesiredStateSource Desired => _services.GetRequiredService<DesiredStateSource>();

    public static SyncHarness Create(string dataDirectory, string trustedKeyFile, IDictionary<string, string?> desired, bool allowUnsigned = false,
        Action<IServiceCollection>? configure = null, FakeTimeProvider? time = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["EdgeMl:DataDirectory"] = dataDirectory,
            ["EdgeMl:TrustedKeyFiles:0"] = trustedKeyFile,
            ["EdgeMl:AllowUnsigned"] = allowUnsigned ? "true" : "false",
            ["EdgeMl:RetryMinDelay"] = "00:00:01",
            ["EdgeMl:RetryMaxDelay"] = "00:00:04",
            ["EdgeMl:Mqtt:EmbeddedPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in desired)
        {
            config[$"{DesiredStateSource.ConfigSection}:{key}"] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(config).Build();
        time ??= new FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgent(configuration);
        configure?.Invoke(services);
        return new SyncHarness(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = false }), time);
    }

    public async Task StartAsync()
    {
        _started = true;
        await Sync.StartAsync(_stop.Token);
    }

    /// <summary>Waits until the model's sync state matches; re-checked on every status change, the guard only stops a hang.</summary>
    public async Task<ModelSyncState> WaitForAsync(string model, Func<ModelSyncState, bool> match, string what)
    {
        using var cts = new CancellationTokenSource(Guard);
        while (true)
        {
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChanged(object? s, EventArgs e) => changed.TrySetResult();
            Status.Changed += OnChanged;
            try
            {
                if (Status.Find(model) is { } state && match(state))
                {
                    return state;
                }

                await changed.Task.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{model} did not reach '{what}' within {Guard}; last: {Status.Find(model)}");
            }
            finally
            {
                Status.Changed -= OnChanged;
            }
        }
    }

    public Task<ModelSyncState> WaitForActiveAsync(string model, long version) =>
        WaitForAsync(model, s => s.Phase == SyncPhase.Active && s.ActiveVersion == version, $"v{version} active");

    public Task<ModelSyncState> WaitForPhaseAsync(string model, SyncPhase phase) =>
        WaitForAsync(model, s => s.Phase == phase, phase.ToString());

    /// <summary>Applies a twin desired document (as the listener does after a reconnect).</summary>
    public DesiredSnapshot ApplyTwin(long version, JsonObject document) =>
        Desired.Apply(new DesiredPropertiesUpdate(version, document, IsFullDocument: true));

    public async Task<InferenceResult> InferAsync(string model) =>
        await Engine.InferAsync(model, new InferenceRequest([InferenceTensor.Create(ModelFixtures.ClassifierInput, ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 7))]));

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            using var cts = new CancellationTokenSource(Guard);
            await Sync.StopAsync(cts.Token);
        }

        await _stop.CancelAsync();
        await _services.DisposeAsync();
        _stop.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A signing key the agent trusts, a folder registry and the packages published into it.</summary>
internal sealed class RegistryFixture : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public RegistryFixture()
    {
        KeyFile = _temp.Sub("trusted.pub.pem");
        File.WriteAllText(KeyFile, Key.ExportPublicKeyPem());
        Directory.CreateDirectory(Root);
    }

    public SigningKey Key { get; } = SigningKey.Create();

    public string KeyFile { get; }

    public string Root => _temp.Sub("registry");

    public string DataDirectory => _temp.Sub("data");

    public string Sub(string name) => _temp.Sub(name);

    /// <summary>Publishes the classifier as <paramref name="name"/> v<paramref name="version"/>; <paramref name="edit"/> may break it first.</summary>
    public void Publish(string name, long version, Action<string>? edit = null, bool sign = true)
    {
        var folder = TestPackages.Classifier(_temp.Sub($"pkg-{name}-{version}-{Guid.NewGuid():N}"), name, version, sign ? Key : null);
        edit?.Invoke(folder);
        TestPackages.PublishToFolder(Root, folder, Key, DateTimeOffset.UtcNow.AddDays(2));
    }

    public void Dispose()
    {
        Key.Dispose();
        _temp.Dispose();
    }
}
