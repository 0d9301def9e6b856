using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
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
        var hub = new RecordingHub(new IoTHubClientIdentity("dev-1", moduleId));
        await using var kit = HealthTestKit.Create(configure: s => s.AddSingleton<IIoTHubClient>(hub));
        await kit.StartReportersAsync();

        kit.Events.Add(AgentEventKinds.RolledBack, "ocr-cls", 1, "rolled back");
        await Eventually.UntilAsync(() => !hub.Sent.IsEmpty, "the event telemetry");

        var (output, message) = Assert.Single(hub.Sent);
        Assert.Equal(toOutput ? ModuleEndpoints.EventsOutput : null, output);
        Assert.Equal("event", message.Properties["type"]);
    }

    private sealed class RecordingHub(IoTHubClientIdentity identity) : IIoTHubClient
    {
        public ConcurrentQueue<(string? Output, IoTHubMessage Message)> Sent { get; } = new();

        public IoTHubConnectionState State => IoTHubConnectionState.Connected;

        public IoTHubClientIdentity? Identity => identity;

        public long DroppedMessageCount => 0;

        public event EventHandler<IoTHubConnectionStateChangedEventArgs>? ConnectionStateChanged
        {
            add { }
            remove { }
        }

        public Task<TwinResult> GetTwinAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new TwinResult(IoTHubError.NotConnected, 0, "not in this test", null));

        public Task<ReportedPatchResult> UpdateReportedPropertiesAsync(JsonObject patch, CancellationToken cancellationToken) =>
            Task.FromResult(new ReportedPatchResult(IoTHubError.NotConnected, 0, "not in this test", null));

        public async IAsyncEnumerable<DesiredPropertiesUpdate> ReadDesiredUpdatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public void SetMethodHandler(string methodName, DirectMethodHandler? handler)
        {
        }

        public Task<IoTHubResult> SendEventAsync(IoTHubMessage message, CancellationToken cancellationToken)
        {
            Sent.Enqueue((null, message));
            return Task.FromResult(IoTHubResult.Ok());
        }

        public Task<IoTHubResult> SendOutputAsync(string outputName, IoTHubMessage message, CancellationToken cancellationToken)
        {
            Sent.Enqueue((outputName, message));
            return Task.FromResult(IoTHubResult.Ok());
        }

        public void SetInputHandler(string inputName, InputMessageHandler? handler)
        {
        }
    }
}
