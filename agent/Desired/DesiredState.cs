using EdgeMl.Agent.Capture;
using EdgeMl.Runtime.Providers;

namespace EdgeMl.Agent.Desired;

/// <summary>
/// What the operator wants the device to serve: the registry and the models, each with its version, provider
/// chain and serving settings. Comes from configuration (<c>EdgeMl:Desired</c>) and is replaced by the module
/// twin's desired properties; the last accepted one is persisted so the agent starts and serves offline.
/// </summary>
internal sealed record DesiredState
{
    public static DesiredState Empty { get; } = new();

    /// <summary>A folder, an http(s) URL or a blob container (see <c>IModelRegistryFactory</c>); null serves what is on disk.</summary>
    public string? Registry { get; init; }

    public IReadOnlyDictionary<string, DesiredModel> Models { get; init; } = new Dictionary<string, DesiredModel>(StringComparer.Ordinal);

    /// <summary>
    /// At most one health patch of reported properties per interval (a change after a quiet interval goes at once).
    /// Sized so 10,000 devices stay within one S1 unit's twin-update throttle even when every health flaps
    /// (docs/benchmarks.md, "Fleet rollout").
    /// </summary>
    public TimeSpan HealthReportInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often health telemetry goes to IoT Hub; sized like <see cref="HealthReportInterval"/>, against the device-to-cloud throttle.</summary>
    public TimeSpan TelemetryInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a registry is asked for a newer version of models that follow <c>latest</c>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>One model the operator wants served.</summary>
internal sealed record DesiredModel
{
    /// <summary>A version number, or null to follow the latest version the registry lists.</summary>
    public long? Version { get; init; }

    /// <summary>Allows a version below the highest ever accepted (a deliberate downgrade).</summary>
    public bool Pinned { get; init; }

    /// <summary>The provider chain; null uses what the package recommends, else the CPU.</summary>
    public IReadOnlyList<string>? Providers { get; init; }

    public ProviderPolicy Policy { get; init; } = ProviderPolicy.Prefer;

    public bool Batching { get; init; }

    /// <summary><c>"batching": "auto"</c>: batched and unbatched measured on live traffic, the faster serves (<see cref="Batching"/> is not read).</summary>
    public bool BatchingAuto { get; init; }

    public int MaxBatchSize { get; init; } = 8;

    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose.</summary>
    public int Threads { get; init; }

    /// <summary>Requests running at once; null for one per core.</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>Capture policy for this model; null keeps the configured one.</summary>
    public CaptureOptions? Capture { get; init; }

    /// <summary>How a newly promoted version is watched before it counts as good.</summary>
    public ProbationSettings Probation { get; init; } = ProbationSettings.Default;

    /// <summary>A version evaluated beside the active one; null when none.</summary>
    public ShadowSettings? Shadow { get; init; }

    public string VersionText => Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "latest";

    /// <summary>
    /// Equal by content: every twin update parses each entry anew, and the compiler's record equality would
    /// compare <see cref="Providers"/> and <see cref="Capture"/> by reference, so an unchanged entry would look
    /// changed (and end an operator's hold).
    /// </summary>
    public bool Equals(DesiredModel? other) =>
        other is not null && Version == other.Version && Pinned == other.Pinned && SameRuntimeSettings(other) && SameCapture(Capture, other.Capture)
        && Probation == other.Probation && Shadow == other.Shadow;

    public override int GetHashCode() => HashCode.Combine(Version, Pinned, Policy, Batching, BatchingAuto, MaxBatchSize, Threads, MaxConcurrency);

    private static bool SameCapture(CaptureOptions? a, CaptureOptions? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a.Enabled == b.Enabled && a.SampleRate == b.SampleRate && a.DriftingSampleRate == b.DriftingSampleRate
            && a.LowConfidenceThreshold == b.LowConfidenceThreshold && a.ConfidenceOutput == b.ConfidenceOutput && a.CaptureErrors == b.CaptureErrors
            && a.MaxRecordBytes == b.MaxRecordBytes);

    /// <summary>True when a change from <paramref name="other"/> needs the model loaded again (not just another version).</summary>
    public bool SameRuntimeSettings(DesiredModel other) =>
        ReferenceEquals(this, other)
        || (Policy == other.Policy && Batching == other.Batching && BatchingAuto == other.BatchingAuto && MaxBatchSize == other.MaxBatchSize && MaxBatchDelay == other.MaxBatchDelay
            && Threads == other.Threads && MaxConcurrency == other.MaxConcurrency
            && (Providers ?? []).SequenceEqual(other.Providers ?? [], StringComparer.OrdinalIgnoreCase) && (Providers is null) == (other.Providers is null));
}
