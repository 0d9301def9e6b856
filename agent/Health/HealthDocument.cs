namespace EdgeMl.Agent.Health;

/// <summary>
/// The health document while contributors fill it: each writes its own part, models first from the engine and then
/// annotated per model (drift, a refused version) by name, so the order contributors run in does not matter.
/// <see cref="Build"/> rolls the parts up into the <see cref="AgentHealth"/> every transport carries.
/// </summary>
internal sealed class HealthDocument(string deviceId, DateTimeOffset startedAt, DateTimeOffset at, string version)
{
    /// <summary>The drift level that degrades the agent (<c>DriftLevel.Significant</c> as the contract writes it).</summary>
    public const string SignificantDrift = "significant";

    public List<ModelHealth> Models { get; } = [];

    /// <summary>The drift of each model's serving version, by model name.</summary>
    public Dictionary<string, DriftHealth> Drift { get; } = new(StringComparer.Ordinal);

    /// <summary>Why a new version of a model was refused while the old one keeps serving, by model name.</summary>
    public Dictionary<string, string> Refused { get; } = new(StringComparer.Ordinal);

    public ReadyHealth Ready { get; set; } = new(true, null);

    /// <summary>Where the desired state in effect came from; configuration unless a contributor says otherwise.</summary>
    public string Desired { get; set; } = "embedded";

    public SyncHealth Sync { get; set; } = new(null, null, null, []);

    public HubHealth Hub { get; set; } = new(false, false, null, 0);

    public BrokerHealth Broker { get; set; } = new(false, false, null, null, 0);

    public DiskHealth? Disk { get; set; }

    public CaptureHealth? Capture { get; set; }

    public AcceleratorsHealth? Accelerators { get; set; }

    /// <summary>Each model's probation verdict and shadow figures; null when there are none.</summary>
    public ProvingHealth? Proving { get; set; }

    public AgentHealth Build()
    {
        var models = Models.Select(Annotated).ToArray();
        return new AgentHealth(deviceId, Status(models, Sync, Hub, Broker), Ready, Desired, startedAt, at, version, models, Sync, Hub, Broker,
            Disk ?? new DiskHealth("", null, null), Capture, Accelerators ?? throw new InvalidOperationException("No contributor wrote the accelerators."))
        {
            Proving = Proving,
        };
    }

    /// <summary>
    /// Unhealthy when a model serves nothing (or a desired one is invalid or failed with nothing serving); degraded
    /// when something works at less than asked: a fallback provider, a refused version, drift, a lost link.
    /// </summary>
    internal static string Status(IReadOnlyList<ModelHealth> models, SyncHealth sync, HubHealth hub, BrokerHealth broker)
    {
        if (models.Any(m => m.State == HealthJsonContext.Name(EdgeMl.Runtime.Serving.ModelState.Failed))
            || sync.Models.Any(m => m.ActiveVersion is null && m.Phase is "failed" or "invalid" or "refused"))
        {
            return HealthStatus.Unhealthy;
        }

        var degraded = models.Any(m => m.Degraded || m.LastFailure is not null || m.Drift?.Level == SignificantDrift)
            || sync.RegistryError is not null
            || sync.Models.Any(m => m.Phase is "failed" or "refused" or "invalid")
            || (hub.Configured && !hub.Connected)
            || (broker.Configured && !broker.Connected);
        return degraded ? HealthStatus.Degraded : HealthStatus.Healthy;
    }

    private ModelHealth Annotated(ModelHealth model)
    {
        // A refused new version leaves the old one serving: the model works, at less than what was asked.
        var refused = model.Version is not null ? Refused.GetValueOrDefault(model.Name) : null;
        if (refused is not null)
        {
            model = model with
            {
                Degraded = true,
                DegradedReason = model.Degraded ? string.Join("; ", new[] { model.DegradedReason, refused }.OfType<string>()) : refused,
            };
        }

        return Drift.TryGetValue(model.Name, out var drift) ? model with { Drift = drift } : model;
    }
}
