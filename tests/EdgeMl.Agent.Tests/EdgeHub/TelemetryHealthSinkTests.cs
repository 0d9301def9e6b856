using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Tests.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.EdgeHub;

/// <summary>Where health telemetry goes follows the identity the hub client resolved, not the process environment.</summary>
public sealed class TelemetryHealthSinkTests
{
    [Theory]
    [InlineData("edgeml", true)]
    [InlineData(null, false)]
    public async Task Event_IdentityFromTheHubClient_ModuleOutputForAModuleDeviceEventOtherwise(string? moduleId, bool toOutput)
    {
        // No IOTEDGE_MODULEID, no connection string in configuration: only the client knows it is a module.
        var hub = new FakeHub(connected: true, new IoTHubClientIdentity("dev-1", moduleId));
        await using var kit = HealthTestKit.Create(configure: s => s.AddSingleton<IIoTHubClient>(hub));
        await kit.StartReportersAsync();

        kit.Events.Add(AgentEventKinds.RolledBack, "ocr-cls", 1, "rolled back");
        await Eventually.UntilAsync(() => !hub.Sent.IsEmpty, "the event telemetry");

        var (output, message) = Assert.Single(hub.Sent);
        Assert.Equal(toOutput ? ModuleEndpoints.EventsOutput : null, output);
        Assert.Equal("event", message.Properties["type"]);
    }
}
