using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Agent.Health;

/// <summary>
/// The agent's health: one document, the same on the twin (compacted), MQTT, telemetry, <c>/api/health</c> and the
/// <c>getHealth</c> method. Its camelCase JSON is a contract the diagnostics page and the CLI read; enum values are
/// camelCase strings (<c>healthy</c>, <c>ready</c>, <c>goldenCheck</c>).
/// </summary>
/// <param name="Ready">Whether the server should be sent traffic, and why not (what <c>/v2/health/ready</c> answers).</param>
/// <param name="Desired">Where the desired state in effect came from: <c>twin</c>, <c>persisted</c> (by the last run) or <c>embedded</c> (configuration).</param>
internal sealed record AgentHealth(
    string DeviceId,
    string Status,
    ReadyHealth Ready,
    string Desired,
    DateTimeOffset StartedAt,
    DateTimeOffset At,
    string Version,
    IReadOnlyList<ModelHealth> Models,
    SyncHealth Sync,
    HubHealth Hub,
    BrokerHealth Broker,
    DiskHealth Disk,
    CaptureHealth? Capture,
    AcceleratorsHealth Accelerators)
{
    /// <summary>Each model's probation verdict and shadow figures; null when there are none.</summary>
    public ProvingHealth? Proving { get; init; }
}

internal static class HealthStatus
{
    public const string Healthy = "healthy";
    public const string Degraded = "degraded";
    public const string Unhealthy = "unhealthy";
}

internal sealed record ReadyHealth(bool Ready, string? Reason);

internal sealed record ModelHealth(
    string Name,
    string State,
    long? Version,
    string? Provider,
    IReadOnlyList<string> RequestedProviders,
    IReadOnlyList<ProviderHealth> Chain,
    bool Degraded,
    string? DegradedReason,
    string? Building,
    BatchingHealth? Batching,
    LatencyHealth LatencyMs,
    long Requests,
    long Errors,
    FailureHealth? LastFailure,
    DriftHealth? Drift);

/// <summary>One provider of the model's chain: <c>inUse</c>, <c>notInBuild</c>, <c>librariesMissing</c>, <c>noDevice</c>, <c>initFailed</c>, <c>building</c> or <c>notTried</c>, and why.</summary>
internal sealed record ProviderHealth(string Provider, string State, string? Reason);

/// <summary>What <c>batching: auto</c> serves with (<c>batched</c> or <c>unbatched</c>) and why: predictions per busy second of each, measured on live traffic.</summary>
internal sealed record BatchingHealth(string Mode, string Reason, double? UnbatchedRate, double? BatchedRate);

/// <summary>Percentiles over the recent requests of the model; null when none was answered in the window.</summary>
internal sealed record LatencyHealth(double? P50, double? P99);

internal sealed record FailureHealth(long Version, string Stage, string Reason, DateTimeOffset At);

internal sealed record DriftHealth(string Level, double MaxPsi, long? Version, IReadOnlyList<TensorDriftHealth> Tensors);

/// <param name="Key">The tensor (and feature) the distribution belongs to.</param>
/// <param name="Side"><c>input</c> or <c>output</c>.</param>
internal sealed record TensorDriftHealth(string Key, string Side, long Samples, double Psi, double Ks, double Js, string Level);

internal sealed record SyncHealth(string? Registry, string? RegistryError, DateTimeOffset? LastReconcileAt, IReadOnlyList<ModelSyncHealth> Models);

internal sealed record ModelSyncHealth(string Name, string Desired, string Phase, long? ActiveVersion, long? TargetVersion, double? Progress, string? Message);

internal sealed record HubHealth(bool Configured, bool Connected, string? Error, long DroppedMessages);

internal sealed record BrokerHealth(bool Configured, bool Connected, string? Broker, string? Error, long DroppedEvents);

internal sealed record DiskHealth(string Path, long? FreeBytes, long? TotalBytes);

internal sealed record CaptureHealth(long Queued, long Records, long Bytes, long QuotaBytes, IReadOnlyDictionary<string, long> Dropped);

/// <summary>The accelerator self-check, run once at start: what this device offers for inference, as facts.</summary>
internal sealed record AcceleratorsHealth(OnnxRuntimeHealth OnnxRuntime, IReadOnlyList<LibraryHealth> Libraries, CudaHealth Cuda, string? TensorRtVersion);

internal sealed record OnnxRuntimeHealth(string Version, string Flavour, IReadOnlyList<string> Providers, string? Library);

/// <param name="Detail">The loader's reason when the library is not found.</param>
internal sealed record LibraryHealth(string Name, bool Found, string? Detail);

/// <param name="Error">Why there is no usable device: the driver library does not load, or the driver sees none.</param>
internal sealed record CudaHealth(string? DriverVersion, string? Error, IReadOnlyList<GpuHealth> Devices);

internal sealed record GpuHealth(int Index, string Name, long MemoryBytes, string ComputeCapability);

/// <summary>An agent event as MQTT, telemetry and <c>/api/events</c> carry it.</summary>
internal sealed record EventJson(DateTimeOffset At, string Kind, string? Model, long? Version, string Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AgentHealth))]
[JsonSerializable(typeof(EventJson))]
[JsonSerializable(typeof(IReadOnlyList<EventJson>))]
internal sealed partial class HealthJsonContext : JsonSerializerContext
{
    /// <summary>An enum value as the contract writes it: camelCase.</summary>
    public static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());
}
