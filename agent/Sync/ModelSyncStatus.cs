namespace EdgeMl.Agent.Sync;

/// <summary>Where one desired model stands on its way from the registry to serving.</summary>
internal enum SyncPhase
{
    /// <summary>Known, not yet worked on.</summary>
    Pending,

    /// <summary>Files are being fetched (<see cref="ModelSyncState.Progress"/> says how far).</summary>
    Downloading,

    /// <summary>Loading, warming up and golden-checking the candidate.</summary>
    Activating,

    /// <summary>The desired version serves.</summary>
    Active,

    /// <summary>The candidate was refused (signature, downgrade, golden check…); the previous version keeps serving.</summary>
    Refused,

    /// <summary>The registry could not be reached or the transfer failed; retried later.</summary>
    Failed,

    /// <summary>The desired entry itself is invalid.</summary>
    Invalid,
}

/// <summary>One model's sync state, as reported to the twin, MQTT, the diagnostics page and the CLI.</summary>
/// <param name="Desired">What the operator asked for: a version number or <c>latest</c>.</param>
/// <param name="ActiveVersion">The version serving now, if any.</param>
/// <param name="TargetVersion">The version being pulled or last tried.</param>
/// <param name="Message">Why it is not active, for people.</param>
internal sealed record ModelSyncState(string Model, string Desired, SyncPhase Phase, long? ActiveVersion, long? TargetVersion, string? Message, DateTimeOffset At)
{
    /// <summary>Download progress, 0 to 1, while <see cref="SyncPhase.Downloading"/>.</summary>
    public double? Progress { get; init; }
}

/// <summary>The reconcile loop's state, written by model sync and read by every reporter. Thread-safe.</summary>
internal sealed class ModelSyncStatus
{
    private readonly Dictionary<string, ModelSyncState> _models = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Raised after any change; handlers must not block.</summary>
    public event EventHandler? Changed;

    /// <summary>The registry the desired state names; null when models are served from disk only.</summary>
    public string? Registry { get; private set; }

    /// <summary>Why the last reconcile could not reach the registry, or null.</summary>
    public string? RegistryError { get; private set; }

    public DateTimeOffset? LastReconcileAt { get; private set; }

    public IReadOnlyList<ModelSyncState> Models
    {
        get
        {
            lock (_lock)
            {
                return _models.Values.OrderBy(m => m.Model, StringComparer.Ordinal).ToArray();
            }
        }
    }

    public ModelSyncState? Find(string model)
    {
        lock (_lock)
        {
            return _models.GetValueOrDefault(model);
        }
    }

    public void Set(ModelSyncState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            _models[state.Model] = state;
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    public void Remove(string model)
    {
        lock (_lock)
        {
            _models.Remove(model);
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    public void Reconciled(string? registry, string? registryError, DateTimeOffset at)
    {
        (Registry, RegistryError, LastReconcileAt) = (registry, registryError, at);
        Changed?.Invoke(this, EventArgs.Empty);
    }
}

/// <summary>What operators (direct methods, the CLI) may ask of model sync besides the desired state.</summary>
internal interface IModelControl
{
    /// <summary>Activates an installed (or pullable) version on purpose, even below the highest accepted; holds until the model's desired entry changes.</summary>
    Task<ModelControlResult> ActivateAsync(string model, long version, CancellationToken cancellationToken);

    /// <summary>Returns to the previous good version; holds until the model's desired entry changes.</summary>
    Task<ModelControlResult> RollbackAsync(string model, CancellationToken cancellationToken);
}

/// <param name="Status">HTTP-like: 200 done, 404 unknown model or version, 409 nothing to roll back to, 500 refused or failed.</param>
internal sealed record ModelControlResult(int Status, string Message, long? ActiveVersion)
{
    public bool Succeeded => Status == 200;
}
