using System.Text.Json.Nodes;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// The device/module link to IoT Hub or edgeHub over MQTT. Keeps itself connected (back-off, token renewal,
/// resubscribe, twin re-fetch) once started; operations return results and never throw for expected failures.
/// </summary>
public interface IIoTHubClient
{
    IoTHubConnectionState State { get; }

    /// <summary>Who the client connects as, once resolved at start; null before (nothing can be sent then either).</summary>
    IoTHubClientIdentity? Identity { get; }

    event EventHandler<IoTHubConnectionStateChangedEventArgs>? ConnectionStateChanged;

    /// <summary>Telemetry messages dropped because the outgoing queue was full.</summary>
    long DroppedMessageCount { get; }

    Task<TwinResult> GetTwinAsync(CancellationToken cancellationToken);

    /// <summary>Patches reported properties. Patches over 32 KB are refused locally with <see cref="IoTHubError.TooLarge"/>.</summary>
    Task<ReportedPatchResult> UpdateReportedPropertiesAsync(JsonObject patch, CancellationToken cancellationToken);

    /// <summary>Desired-property changes in version order: full documents after (re)connects, patches in between.</summary>
    IAsyncEnumerable<DesiredPropertiesUpdate> ReadDesiredUpdatesAsync(CancellationToken cancellationToken);

    void SetMethodHandler(string methodName, DirectMethodHandler? handler);

    /// <summary>Queues a device-to-cloud message; completes when the hub acknowledged it, or with why not.</summary>
    Task<IoTHubResult> SendEventAsync(IoTHubMessage message, CancellationToken cancellationToken);

    /// <summary>Queues a message on a module output (<c>$.on</c>), routed by edgeHub.</summary>
    Task<IoTHubResult> SendOutputAsync(string outputName, IoTHubMessage message, CancellationToken cancellationToken);

    void SetInputHandler(string inputName, InputMessageHandler? handler);
}
