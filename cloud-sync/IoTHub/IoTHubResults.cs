using System.Text.Json.Nodes;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>Why an IoT Hub operation did not succeed. Expected outcomes, returned rather than thrown.</summary>
public enum IoTHubError
{
    None = 0,
    /// <summary>The client is not connected (or was stopped); the request was not sent.</summary>
    NotConnected,
    /// <summary>The connection dropped while the request was waiting for its answer.</summary>
    ConnectionLost,
    /// <summary>No answer within the operation timeout.</summary>
    Timeout,
    /// <summary>Refused locally: over a documented size limit.</summary>
    TooLarge,
    /// <summary>The hub answered with an error status (see <see cref="IoTHubResult.Status"/>).</summary>
    Rejected,
    /// <summary>The hub answered with something this client cannot read.</summary>
    InvalidResponse,
    /// <summary>The outgoing queue was full and the message was dropped.</summary>
    Dropped,
}

public enum IoTHubConnectionState
{
    Disconnected = 0,
    Connecting,
    Connected,
}

/// <summary>The outcome of a twin request or a telemetry send.</summary>
public record IoTHubResult(IoTHubError Error, int Status, string? Message)
{
    public bool Succeeded => Error == IoTHubError.None;

    public static IoTHubResult Ok(int status = 200) => new(IoTHubError.None, status, null);

    public static IoTHubResult Fail(IoTHubError error, string message, int status = 0) => new(error, status, message);
}

/// <summary>A reported-properties patch outcome. IoT Hub returns the new reported <c>$version</c>; edgeHub returns none.</summary>
public sealed record ReportedPatchResult(IoTHubError Error, int Status, string? Message, long? Version)
    : IoTHubResult(Error, Status, Message);

/// <summary>A twin GET outcome: the <c>properties</c> object (<c>desired</c> and <c>reported</c>).</summary>
public sealed record TwinResult(IoTHubError Error, int Status, string? Message, TwinProperties? Twin)
    : IoTHubResult(Error, Status, Message);

public sealed record TwinProperties(JsonObject Desired, JsonObject Reported)
{
    public long DesiredVersion => Desired["$version"]?.GetValue<long>() ?? 0;

    public long ReportedVersion => Reported["$version"]?.GetValue<long>() ?? 0;
}

/// <summary>
/// A desired-properties change, in <c>$version</c> order. <see cref="IsFullDocument"/> is true when the client
/// fetched the whole desired section (first connect, or a reconnect where the version moved while offline):
/// then <see cref="Properties"/> is the complete desired state, not a patch.
/// </summary>
public sealed record DesiredPropertiesUpdate(long Version, JsonObject Properties, bool IsFullDocument);

public sealed class IoTHubConnectionStateChangedEventArgs(IoTHubConnectionState state, string? reason, bool isAuthenticationFailure, TimeSpan? retryIn) : EventArgs
{
    public IoTHubConnectionState State { get; } = state;

    /// <summary>Why the connection is not up (last error), or null when connected.</summary>
    public string? Reason { get; } = reason;

    public bool IsAuthenticationFailure { get; } = isAuthenticationFailure;

    /// <summary>When disconnected: how long until the next attempt.</summary>
    public TimeSpan? RetryIn { get; } = retryIn;
}
