using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Tests.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.Agent.Tests.EdgeHub;

/// <summary>Twin and telemetry reporting against the IoT Hub simulator over TLS, on a fake clock.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class TwinHealthSinkTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly Sim _sim = new();
    private SimulatedIdentity _device = null!;
    private IoTHubClient _client = null!;
    private string _caFile = null!;
    private HealthTestKit _kit = null!;

    public async Task InitializeAsync()
    {
        _sim.Time = _time;
        await _sim.StartAsync();
        _device = _sim.AddDevice("dev-1");
        _client = HealthTestKit.HubClient(_sim, _device, _time, out _caFile);
        _kit = HealthTestKit.Create(_time, s => s.AddSingleton<IIoTHubClient>(_client));
        await _kit.StartReportersAsync();
        await _client.StartAsync(CancellationToken.None);
        await _sim.WaitForAsync(() => _device.Twin.Reported["health"] is not null, TimeSpan.FromSeconds(60), "the first health report");
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
    public void Start_Connected_ReportsHealthUnderItsKeyWithTheHubConnected()
    {
        var health = _device.Twin.Reported["health"]!;

        Assert.Equal("dev-1", health["deviceId"]!.GetValue<string>());
        Assert.True(health["hub"]!["configured"]!.GetValue<bool>());
        Assert.True(health["hub"]!["connected"]!.GetValue<bool>());
        Assert.Equal("healthy", health["status"]!.GetValue<string>());
        Assert.Equal("1.32.0", health["accelerators"]!["onnxRuntime"]!["version"]!.GetValue<string>());
        Assert.Equal(EdgeMl.Runtime.Providers.OnnxRuntimeBuild.Flavour, health["accelerators"]!["onnxRuntime"]!["flavour"]!.GetValue<string>());
    }

    [Fact]
    public async Task Changes_SeveralWithinOneInterval_CoalescedIntoOnePatchWithTheLast()
    {
        var before = _device.Twin.ReportedVersion;

        _kit.Sync.Set(new ModelSyncState("ocr-cls", "3", SyncPhase.Downloading, null, 3, "fetching", _time.GetUtcNow()) { Progress = 0.1 });
        _kit.Sync.Set(new ModelSyncState("ocr-cls", "3", SyncPhase.Activating, null, 3, "loading", _time.GetUtcNow()));
        _kit.Sync.Set(new ModelSyncState("ocr-cls", "3", SyncPhase.Active, 3, 3, null, _time.GetUtcNow()));
        _kit.Events.Add(AgentEventKinds.Activated, "ocr-cls", 3, "ocr-cls v3 activated on cpu");
        await Eventually.AdvanceUntilAsync(_time, () => ActiveVersion() == 3, "the coalesced patch");

        Assert.Equal(before + 1, _device.Twin.ReportedVersion);
        Assert.Equal("active", _device.Twin.Reported["health"]!["sync"]!["models"]![0]!["phase"]!.GetValue<string>());
        Assert.True(_time.GetUtcNow() - _kit.Collector.StartedAt >= DesiredState.Empty.HealthReportInterval);
    }

    [Fact]
    public async Task SimulatorRestart_Reconnected_HealthReportedAgainUnchanged()
    {
        await _sim.StopAsync();
        _device.Twin.PatchReported(new JsonObject { ["health"] = null }, _time.GetUtcNow());
        await _sim.StartAsync();

        await Eventually.AdvanceUntilAsync(_time, () => _device.Twin.Reported["health"] is not null, "the report after reconnecting");

        Assert.True(_device.Twin.Reported["health"]!["hub"]!["connected"]!.GetValue<bool>());
    }

    [Fact]
    public async Task TelemetryInterval_Elapsed_SendsHealthTelemetryWithTypeHealth()
    {
        await Eventually.AdvanceUntilAsync(_time, () => Telemetry("health").Any(), "health telemetry");

        var message = Telemetry("health").First();
        Assert.Equal("application/json", message.SystemProperties["$.ct"]);
        Assert.Equal("utf-8", message.SystemProperties["$.ce"]);
        Assert.Equal("dev-1", JsonNode.Parse(message.BodyText)!["deviceId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Event_Rollback_SentAsTelemetryWithTypeEvent()
    {
        _kit.Events.Add(AgentEventKinds.RolledBack, "ocr-cls", 2, "ocr-cls rolled back from v3 to v2 by an operator");
        _kit.Events.Add(AgentEventKinds.Unloaded, "other", 1, "not an alerting kind");

        await _sim.WaitForAsync(() => Telemetry("event").Any(), TimeSpan.FromSeconds(60), "the event message");

        var body = JsonNode.Parse(Assert.Single(Telemetry("event")).BodyText)!;
        Assert.Equal(("rolledBack", "ocr-cls", 2L), (body["kind"]!.GetValue<string>(), body["model"]!.GetValue<string>(), body["version"]!.GetValue<long>()));
    }

    private long? ActiveVersion() =>
        _device.Twin.Reported["health"]?["sync"]?["models"] is JsonArray { Count: > 0 } models ? models[0]!["activeVersion"]?.GetValue<long>() : null;

    private IEnumerable<CapturedMessage> Telemetry(string type) =>
        _sim.Messages.Where(m => m.ApplicationProperties.GetValueOrDefault("type") == type);
}
