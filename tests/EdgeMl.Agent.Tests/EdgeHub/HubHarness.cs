using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.Agent.Tests.EdgeHub;

/// <summary>The IoT Hub simulator on loopback (TLS) with one module identity, and the real client connected to it as that module.</summary>
internal sealed class HubHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new();
    private readonly TestMeterFactory _meters = new();
    private readonly string _caFile;

    private HubHarness(Sim simulator, SimulatedIdentity module, IoTHubClient client, string caFile)
    {
        Simulator = simulator;
        Module = module;
        Client = client;
        _caFile = caFile;
    }

    public Sim Simulator { get; }

    public SimulatedIdentity Module { get; }

    public IoTHubClient Client { get; }

    public static async Task<HubHarness> StartAsync(bool edgeHubMode = false)
    {
        var simulator = new Sim(new IoTHubSimulatorOptions { EdgeHubMode = edgeHubMode });
        await simulator.StartAsync();
        var module = simulator.AddModule("edge01", "edgeml");
        var caFile = Path.Combine(Path.GetTempPath(), $"edgeml-sim-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(caFile, simulator.Certificates.CertificateAuthorityPem);
        var options = new IoTHubClientOptions
        {
            ConnectionString = simulator.ConnectionString(module),
            TrustedCaCertificatePath = caFile,
            OperationTimeout = TimeSpan.FromSeconds(30),
            ReconnectSpread = TimeSpan.Zero, // one device: the fleet's spread is BackOffTests' subject
        };
        var meters = new TestMeterFactory();
        var client = new IoTHubClient(Options.Create(options), TimeProvider.System, NullLogger<IoTHubClient>.Instance, meters, _ => null, () => 0.5);
        var harness = new HubHarness(simulator, module, client, caFile);
        await client.StartAsync(harness._stop.Token);
        await simulator.WaitForConnectionsAsync(module, 1, Guard);
        return harness;
    }

    /// <summary>Waits for a condition on the simulator's view, re-checked on its events and every 50 ms; the guard only stops a hang.</summary>
    public static Task WaitForAsync(Func<bool> condition, string what) => Eventually.UntilAsync(condition, what, Guard);

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(Guard);
        await Client.StopAsync(cts.Token);
        await _stop.CancelAsync();
        Client.Dispose();
        _meters.Dispose();
        _stop.Dispose();
        await Simulator.DisposeAsync();
        File.Delete(_caFile);
    }
}
