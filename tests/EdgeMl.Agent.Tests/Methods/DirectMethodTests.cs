using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Tests.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Registries;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.Agent.Tests.Methods;

/// <summary>The direct methods invoked through the IoT Hub simulator, with the real model sync behind model control.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class DirectMethodTests : IAsyncLifetime
{
    private const string ConnectionSecret = "c2VjcmV0LWtleS1vZi10aGUtdXBsb2FkLWFjY291bnQ=";
    private const string SasSignature = "sv%3D2024-05-04%26sig%3DAbCdEf0123";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Sim _sim = new();
    private SimulatedIdentity _device = null!;
    private IoTHubClient _client = null!;
    private string _caFile = null!;
    private HealthTestKit _kit = null!;

    public async Task InitializeAsync()
    {
        await _sim.StartAsync();
        _device = _sim.AddDevice("dev-1");
        _client = HealthTestKit.HubClient(_sim, _device, TimeProvider.System, out _caFile);
        var hubConnectionString = _sim.ConnectionString(_device);
        _kit = HealthTestKit.Create(configure: s =>
        {
            s.AddSingleton<IIoTHubClient>(_client);
            s.AddSingleton(sp => new ModelStore(new ModelStoreOptions { DataDirectory = sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory }));
            s.AddSingleton(new FileDownloader(new DownloadOptions()));
            s.AddModelRegistries();
            s.AddSingleton(new TrustPolicy(TrustedKeys.FromPem([]), allowUnsigned: false));
            s.AddSingleton<DesiredStateSource>();
            s.AddSingleton<ModelSettingsFactory>();
            s.AddSingleton<ModelActivation>();
            s.AddSingleton<DistributionMetrics>();
            s.AddSingleton(sp => new DriftRegistry(Options.Create(new DriftOptions()), TimeProvider.System));
            s.AddSingleton<ModelSync>();
            s.AddSingleton<IModelControl>(sp => sp.GetRequiredService<ModelSync>());
        }, configuration: new Dictionary<string, string?>
        {
            ["EdgeMl:Desired:models:ocr-cls:version"] = "1",
            ["EdgeMl:IoTHub:ConnectionString"] = hubConnectionString,
            ["EdgeMl:Upload:ConnectionString"] = $"DefaultEndpointsProtocol=https;AccountName=edge;AccountKey={ConnectionSecret};EndpointSuffix=core.windows.net",
            ["EdgeMl:Upload:ContainerUri"] = $"https://edge.blob.core.windows.net/capture?sv=2024-05-04&sp=rw&sig={SasSignature}",
            ["EdgeMl:Mqtt:Password"] = "broker-pass-1234",
            ["EdgeMl:Http:Token"] = "api-token-5678",
            ["EdgeMl:Desired:registry"] = "https://reader:registry-pass-90@models.example/edgeml",
        });
        await _kit.StartReportersAsync();
        await _client.StartAsync(CancellationToken.None);
        await _sim.WaitForAsync(() => _device.IsConnected && _device.CurrentSubscriptions.Contains("$iothub/methods/POST/#"), Timeout, "the method subscription");

        // The client says Connected only after its first twin fetch, which can come after the subscription.
        var guard = DateTime.UtcNow + Timeout;
        while (_client.State != IoTHubConnectionState.Connected && DateTime.UtcNow < guard)
        {
            await Task.Delay(10);
        }

        Assert.Equal(IoTHubConnectionState.Connected, _client.State);
    }

    public async Task DisposeAsync()
    {
        await _kit.DisposeAsync();
        await _client.StopAsync(CancellationToken.None);
        _client.Dispose();
        await _sim.DisposeAsync();
        File.Delete(_caFile);
    }

    [Fact]
    public async Task GetHealth_Invoked_AnswersTheHealthDocument()
    {
        Assert.True((await _kit.ActivateClassifierAsync(ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"))).Succeeded);

        var result = await _sim.InvokeMethodAsync(_device, "getHealth", null, Timeout);

        Assert.Equal(200, result.Status);
        var health = JsonNode.Parse(result.Payload!)!;
        Assert.Equal("dev-1", health["deviceId"]!.GetValue<string>());
        Assert.Equal("degraded", health["status"]!.GetValue<string>());
        Assert.True(health["models"]![0]!["degraded"]!.GetValue<bool>());
        Assert.True(health["hub"]!["connected"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ListModels_InstalledAndServing_ListsVersionsOnDiskAndServingState()
    {
        var store = _kit.Services.GetRequiredService<ModelStore>();
        Directory.CreateDirectory(store.VersionFolder("ocr-cls", 1));
        Directory.CreateDirectory(store.VersionFolder("ocr-cls", 2));
        Directory.CreateDirectory(store.VersionFolder("ocr-det", 5));
        Assert.True((await _kit.ActivateClassifierAsync(version: 2)).Succeeded);

        var result = await _sim.InvokeMethodAsync(_device, "listModels", new JsonObject(), Timeout);

        Assert.Equal(200, result.Status);
        var models = JsonNode.Parse(result.Payload!)!["models"]!.AsArray();
        Assert.Equal(["ocr-cls", "ocr-det"], models.Select(m => m!["name"]!.GetValue<string>()));
        Assert.Equal([1L, 2L], models[0]!["installed"]!.AsArray().Select(v => v!.GetValue<long>()));
        Assert.Equal(("ready", 2L), (models[0]!["serving"]!["state"]!.GetValue<string>(), models[0]!["serving"]!["version"]!.GetValue<long>()));
        Assert.Null(models[1]!["serving"]);
    }

    [Theory]
    [InlineData("""{"name":"ocr-cls"}""", "'version' is missing")]
    [InlineData("""{"name":"ocr-cls","version":"two"}""", "'version' must be a non-empty integer, not a string")]
    [InlineData("""{"name":7,"version":2}""", "'name' must be a non-empty string, not number")]
    [InlineData("""{"name":"ocr-cls","version":2.5}""", "'version' must be a positive integer")]
    [InlineData("""[1,2]""", "the payload is a array, not an object")]
    public async Task ActivateModel_BadPayload_400WithWhatWasExpected(string payload, string problem)
    {
        var result = await _sim.InvokeMethodRawAsync(_device, "activateModel", Encoding.UTF8.GetBytes(payload), Timeout);

        Assert.Equal(400, result.Status);
        var message = JsonNode.Parse(result.Payload!)!["message"]!.GetValue<string>();
        Assert.Contains("{\"name\": string, \"version\": integer}", message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActivateModel_UnknownModel_404FromModelControl()
    {
        var result = await _sim.InvokeMethodAsync(_device, "activateModel", new JsonObject { ["name"] = "nope", ["version"] = 1 }, Timeout);

        Assert.Equal(404, result.Status);
        Assert.Contains("'nope' is not a desired model", JsonNode.Parse(result.Payload!)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackModel_NothingToRollBackTo_409()
    {
        var result = await _sim.InvokeMethodAsync(_device, "rollbackModel", new JsonObject { ["name"] = "ocr-cls" }, Timeout);

        Assert.Equal(409, result.Status);
        var body = JsonNode.Parse(result.Payload!)!;
        Assert.Equal(409, body["status"]!.GetValue<int>());
        Assert.Contains("no previous good version", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackModel_NameMissing_400()
    {
        var result = await _sim.InvokeMethodAsync(_device, "rollbackModel", new JsonObject { ["model"] = "ocr-cls" }, Timeout);

        Assert.Equal(400, result.Status);
        Assert.Contains("'name' is missing", JsonNode.Parse(result.Payload!)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSupportBundle_SecretsInConfigurationAndEvents_NoneLeaveTheDevice()
    {
        Assert.True((await _kit.ActivateClassifierAsync()).Succeeded);
        _kit.Events.Add("syncFailed", "ocr-cls", 2, $"pull from https://edge.blob.core.windows.net/models?sv=2024&sig={SasSignature} failed");

        var result = await _sim.InvokeMethodAsync(_device, "getSupportBundle", null, Timeout);

        Assert.True(result.Status == 200, result.Payload);
        var text = result.Payload!;
        Assert.True(Encoding.UTF8.GetByteCount(text) < 128 * 1024);
        foreach (var secret in new[] { ConnectionSecret, SasSignature, "broker-pass-1234", "api-token-5678", "registry-pass-90", _device.PrimaryKey! })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        var bundle = JsonNode.Parse(text)!;
        Assert.Equal("***", bundle["configuration"]!["EdgeMl"]!["Mqtt"]!["Password"]!.GetValue<string>());
        Assert.Equal("https://edge.blob.core.windows.net/capture?***", bundle["configuration"]!["EdgeMl"]!["Upload"]!["ContainerUri"]!.GetValue<string>());
        Assert.Equal("ocr-cls", bundle["models"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("cpu", bundle["models"]![0]!["providers"]!["effective"]!.GetValue<string>());
        Assert.Contains("?***", bundle["events"]!.AsArray().Last()!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("dev-1", bundle["health"]!["deviceId"]!.GetValue<string>());
        Assert.NotNull(bundle["versions"]!["onnxRuntime"]);
    }
}
