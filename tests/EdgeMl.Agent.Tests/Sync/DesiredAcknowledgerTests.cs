using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Tests.EdgeHub;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Sync;

/// <summary>IoT Plug and Play acknowledgements of the desired properties, against the IoT Hub simulator as a module.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class DesiredAcknowledgerTests : IAsyncLifetime, IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Microsoft.Extensions.Hosting.BackgroundService> _services = [];
    private HubHarness _hub = null!;

    public async Task InitializeAsync() => _hub = await HubHarness.StartAsync();

    public async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(HubHarness.Guard);
        foreach (var service in _services)
        {
            await service.StopAsync(cts.Token);
            service.Dispose();
        }

        await _stop.CancelAsync();
        await _hub.DisposeAsync();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _temp.Dispose();
    }

    private async Task<(DesiredStateSource Desired, ModelSyncStatus Status)> StartAsync(DesiredStateSource? desired = null, ModelSyncStatus? status = null)
    {
        desired ??= new DesiredStateSource(new ConfigurationBuilder().Build(), Options.Create(new AgentOptions { DataDirectory = _temp.Sub("data") }),
            NullLogger<DesiredStateSource>.Instance);
        status ??= new ModelSyncStatus();
        var listener = new DesiredPropertiesListener(_hub.Client, desired, new AgentEventLog(TimeProvider.System), NullLogger<DesiredPropertiesListener>.Instance);
        var acknowledger = new DesiredAcknowledger(_hub.Client, desired, status, TimeProvider.System, NullLogger<DesiredAcknowledger>.Instance);
        _services.Add(listener);
        _services.Add(acknowledger);
        await listener.StartAsync(_stop.Token);
        await acknowledger.StartAsync(_stop.Token);
        return (desired, status);
    }

    private JsonNode? Ack(string model) => _hub.Module.Twin.Reported["models"]?[model];

    private int? AckCode(string model) => Ack(model)?["ac"]?.GetValue<int>();

    private long? AckVersion(string model) => Ack(model)?["av"]?.GetValue<long>();

    private static void SetState(ModelSyncStatus status, string model, SyncPhase phase, long? active, string? message) =>
        status.Set(new ModelSyncState(model, "1", phase, active, 1, message, DateTimeOffset.UtcNow));

    [Fact]
    public async Task Acknowledge_RegistryCarryingAKeyAndAReasonQuotingIt_ReportedMasked()
    {
        const string Registry = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=K3YSECRET==;Container=models";
        var (_, status) = await StartAsync();

        await _hub.Simulator.UpdateDesiredAsync(_hub.Module, new JsonObject { ["registry"] = Registry, ["models"] = new JsonObject { ["cls"] = new JsonObject { ["version"] = 1 } } });
        SetState(status, "cls", SyncPhase.Failed, null, $"registry '{Registry}' is not usable");
        await HubHarness.WaitForAsync(() => AckCode("cls") == 500 && _hub.Module.Twin.Reported["registry"] is not null, "the registry and model acknowledgements");

        var reported = _hub.Module.Twin.Reported.ToJsonString();
        Assert.DoesNotContain("K3YSECRET", reported, StringComparison.Ordinal);
        Assert.Contains("AccountKey=***", _hub.Module.Twin.Reported["registry"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acknowledge_GoodModel_202WhilePendingThen200WithDesiredVersion()
    {
        var (desired, status) = await StartAsync();

        var version = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":1}}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("cls") == 202 && AckVersion("cls") == version, "202 for cls");
        Assert.Equal(1, Ack("cls")!["value"]!["version"]!.GetValue<int>());
        Assert.Equal(version, desired.Current.TwinVersion);

        SetState(status, "cls", SyncPhase.Active, 1, null);
        await HubHarness.WaitForAsync(() => AckCode("cls") == 200, "200 for cls");

        Assert.Equal(version, AckVersion("cls"));
        Assert.Equal("v1 serves", Ack("cls")!["ad"]!.GetValue<string>());
    }

    [Fact]
    public async Task Acknowledge_InvalidEntry_400WithThePathInDescription()
    {
        await StartAsync();

        var version = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":"abc"}},"pollInterval":"often"}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("cls") == 400 && _hub.Module.Twin.Reported["pollInterval"]?["ac"]?.GetValue<int>() == 400, "400 acks");

        Assert.Equal(version, AckVersion("cls"));
        Assert.Contains("models.cls.version", Ack("cls")!["ad"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("abc", Ack("cls")!["value"]!["version"]!.GetValue<string>());
        Assert.Contains("hh:mm:ss", _hub.Module.Twin.Reported["pollInterval"]!["ad"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acknowledge_TopLevelSetting_200Applied()
    {
        await StartAsync();

        var version = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"registry":"/srv/registry"}""")!.AsObject());
        await HubHarness.WaitForAsync(() => _hub.Module.Twin.Reported["registry"]?["ac"]?.GetValue<int>() == 200, "200 for registry");

        var ack = _hub.Module.Twin.Reported["registry"]!;
        Assert.Equal("/srv/registry", ack["value"]!.GetValue<string>());
        Assert.Equal(version, ack["av"]!.GetValue<long>());
    }

    [Fact]
    public async Task Acknowledge_RefusedAndFailedVersions_500WithTheReason()
    {
        var (_, status) = await StartAsync();
        await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":3},"det":{"version":1}}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("cls") == 202 && AckCode("det") == 202, "202 for both");

        SetState(status, "cls", SyncPhase.Refused, 2, "v3 refused: GoldenCheck: output differs; v2 keeps serving");
        SetState(status, "det", SyncPhase.Failed, null, "registry unreachable; retrying in 5 s");
        await HubHarness.WaitForAsync(() => AckCode("cls") == 500 && AckCode("det") == 500, "500 for both");

        Assert.Equal("v3 refused: GoldenCheck: output differs; v2 keeps serving", Ack("cls")!["ad"]!.GetValue<string>());
        Assert.Contains("retrying", Ack("det")!["ad"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acknowledge_ModelDeletedFromTwin_ItsAckRemoved()
    {
        await StartAsync();
        await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"a":{"version":1},"b":{"version":1}}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("a") == 202 && AckCode("b") == 202, "acks for a and b");

        var version = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"a":null}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => Ack("a") is null, "a's ack removed");

        Assert.Equal(202, AckCode("b"));
        Assert.Equal(version, AckVersion("b"));
    }

    [Fact]
    public async Task Acknowledge_AfterSimulatorRestart_AllAcksSentAgain()
    {
        var (_, status) = await StartAsync();
        await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":1}},"registry":"/r"}""")!.AsObject());
        SetState(status, "cls", SyncPhase.Active, 1, null);
        await HubHarness.WaitForAsync(() => AckCode("cls") == 200 && _hub.Module.Twin.Reported["registry"] is not null, "acks before restart");

        await _hub.Simulator.StopAsync();
        _hub.Module.Twin.PatchReported(new JsonObject { ["models"] = null, ["registry"] = null }, DateTimeOffset.UtcNow); // the hub lost them
        await _hub.Simulator.StartAsync();
        await _hub.Simulator.WaitForConnectionsAsync(_hub.Module, 2, HubHarness.Guard);

        await HubHarness.WaitForAsync(() => AckCode("cls") == 200 && _hub.Module.Twin.Reported["registry"]?["ac"]?.GetValue<int>() == 200, "acks after restart");
    }

    [Fact]
    public async Task Acknowledge_RealSync_202Then200ThenRefusedGoldenIs500()
    {
        using var registry = new RegistryFixture();
        registry.Publish("cls", 1);
        registry.Publish("cls", 2, folder => TestPackages.BreakGolden(folder, registry.Key));
        await using var sync = SyncHarness.Create(registry.DataDirectory, registry.KeyFile, new Dictionary<string, string?> { ["registry"] = registry.Root });
        await sync.StartAsync();
        await StartAsync(sync.Desired, sync.Status);

        var v1 = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":1}}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("cls") == 200 && AckVersion("cls") == v1, "200 for v1");
        Assert.Equal(1, (await sync.InferAsync("cls")).Version);

        var v2 = await _hub.Simulator.UpdateDesiredAsync(_hub.Module, JsonNode.Parse("""{"models":{"cls":{"version":2}}}""")!.AsObject());
        await HubHarness.WaitForAsync(() => AckCode("cls") == 500 && AckVersion("cls") == v2, "500 for v2");

        Assert.Contains("GoldenCheck", Ack("cls")!["ad"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, (await sync.InferAsync("cls")).Version);
    }
}
