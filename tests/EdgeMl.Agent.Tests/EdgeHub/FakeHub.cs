using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.Agent.Tests.EdgeHub;

/// <summary>
/// An IoT Hub client that never touches the network: connected (sends are recorded and succeed) or a hub that is
/// configured but never reached (sends fail as not connected). The twin never arrives unless a test applies it.
/// </summary>
internal sealed class FakeHub(bool connected, IoTHubClientIdentity? identity = null) : IIoTHubClient
{
    private const string NotConnected = "Not connected to the hub.";

    /// <summary>A hub that is configured but never reached.</summary>
    public static FakeHub Silent() => new(connected: false);

    /// <summary>What was sent, with the module output's name (null for a device-to-cloud event).</summary>
    public ConcurrentQueue<(string? Output, IoTHubMessage Message)> Sent { get; } = new();

    public IoTHubConnectionState State => connected ? IoTHubConnectionState.Connected : IoTHubConnectionState.Disconnected;

    public IoTHubClientIdentity? Identity => identity;

    public long DroppedMessageCount => 0;

    public event EventHandler<IoTHubConnectionStateChangedEventArgs>? ConnectionStateChanged
    {
        add { }
        remove { }
    }

    public Task<TwinResult> GetTwinAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TwinResult(IoTHubError.NotConnected, 0, NotConnected, null));

    public Task<ReportedPatchResult> UpdateReportedPropertiesAsync(JsonObject patch, CancellationToken cancellationToken) =>
        Task.FromResult(new ReportedPatchResult(IoTHubError.NotConnected, 0, NotConnected, null));

    public async IAsyncEnumerable<DesiredPropertiesUpdate> ReadDesiredUpdatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    public void SetMethodHandler(string methodName, DirectMethodHandler? handler)
    {
    }

    public Task<IoTHubResult> SendEventAsync(IoTHubMessage message, CancellationToken cancellationToken) => Send(null, message);

    public Task<IoTHubResult> SendOutputAsync(string outputName, IoTHubMessage message, CancellationToken cancellationToken) => Send(outputName, message);

    public void SetInputHandler(string inputName, InputMessageHandler? handler)
    {
    }

    private Task<IoTHubResult> Send(string? output, IoTHubMessage message)
    {
        if (!connected)
        {
            return Task.FromResult(IoTHubResult.Fail(IoTHubError.NotConnected, NotConnected));
        }

        Sent.Enqueue((output, message));
        return Task.FromResult(IoTHubResult.Ok());
    }
}
