namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// Who the client talks to the hub as, resolved once at start from the connection string or the IoT Edge
/// environment (workload API): a device, or a module of a device. Features ask this instead of reading the
/// environment again.
/// </summary>
public sealed record IoTHubClientIdentity(string DeviceId, string? ModuleId)
{
    /// <summary>An IoT Edge module: its telemetry goes out on module outputs, routed by edgeHub.</summary>
    public bool IsModule => ModuleId is not null;
}
