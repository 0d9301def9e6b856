using System.Reflection;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Probation;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Builds the one health document from the engine, model sync, drift, capture, the hub and broker links and the
/// data disk. Parts the host did not register (no IoT Hub, capture off) are read as absent, never required.
/// <see cref="Changed"/> fires when any part says it changed, so reporters need not poll for everything.
/// </summary>
internal sealed class HealthCollector : IDisposable
{
    public static readonly string AgentVersion =
        typeof(HealthCollector).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(HealthCollector).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    private readonly InferenceEngine _engine;
    private readonly RequestStatistics _requests;
    private readonly TimeProvider _time;
    private readonly AgentOptions _options;
    private readonly ModelSyncStatus? _sync;
    private readonly AgentEventLog? _events;
    private readonly IIoTHubClient? _hub;
    private readonly IHealthPublisher? _broker;
    private readonly DriftRegistry? _drift;
    private readonly CaptureMetrics? _capture;
    private readonly CaptureChannel? _captureChannel;
    private readonly IOptions<CaptureSettings>? _captureSettings;
    private readonly ServingReadiness? _readiness;
    private readonly DesiredStateSource? _desired;
    private readonly AcceleratorSelfCheck? _accelerators;
    private readonly ProvingStatus? _proving;
    private string? _hubError;

    public HealthCollector(InferenceEngine engine, RequestStatistics requests, IOptions<AgentOptions> options, TimeProvider time, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _requests = requests;
        _time = time;
        _options = options.Value;
        StartedAt = time.GetUtcNow();
        _sync = services.GetService<ModelSyncStatus>();
        _events = services.GetService<AgentEventLog>();
        _hub = services.GetService<IIoTHubClient>();
        _broker = services.GetService<IHealthPublisher>();
        _drift = services.GetService<DriftRegistry>();
        _capture = services.GetService<CaptureMetrics>();
        _captureChannel = _capture is null ? null : services.GetService<CaptureChannel>();
        _captureSettings = _capture is null ? null : services.GetService<IOptions<CaptureSettings>>();
        _readiness = services.GetService<ServingReadiness>();
        _desired = services.GetService<DesiredStateSource>();
        _accelerators = services.GetService<AcceleratorSelfCheck>();
        _proving = services.GetService<ProvingStatus>();

        _engine.Activated += OnActivated;
        if (_sync is not null)
        {
            _sync.Changed += OnChanged;
        }

        if (_events is not null)
        {
            _events.Added += OnEvent;
        }

        if (_drift is not null)
        {
            _drift.LevelChanged += OnDrift;
        }

        if (_hub is not null)
        {
            _hub.ConnectionStateChanged += OnHubState;
        }

        if (_readiness is not null)
        {
            _readiness.Changed += OnChanged;
        }
    }

    /// <summary>Raised, on the thread of whatever changed, when a part of the health may have changed; handlers must not block.</summary>
    public event EventHandler? Changed;

    public DateTimeOffset StartedAt { get; }

    public string DeviceId => _options.DeviceId;

    public AgentHealth Collect()
    {
        var drift = _drift?.EvaluateAll().ToDictionary(r => r.Model, StringComparer.Ordinal) ?? [];
        var models = _engine.GetStatuses().Select(s => Model(s, drift.GetValueOrDefault(s.Name))).ToArray();
        var sync = Sync();
        var hub = new HubHealth(_hub is not null, _hub?.State == IoTHubConnectionState.Connected,
            _hub is null || _hub.State == IoTHubConnectionState.Connected ? null : _hubError ?? Name(_hub.State), _hub?.DroppedMessageCount ?? 0);
        var link = _broker?.Link;
        var broker = new BrokerHealth(link is not null, link?.Connected ?? false, link?.Broker, link?.Connected == true ? null : link?.LastError, link?.DroppedEvents ?? 0);
        var ready = _readiness?.Server() ?? Readiness.Ready;
        var desired = Name(_desired?.Current.Origin ?? DesiredOrigin.Embedded);
        return new AgentHealth(_options.DeviceId, Status(models, sync, hub, broker), new ReadyHealth(ready.IsReady, ready.Reason), desired, StartedAt, _time.GetUtcNow(), AgentVersion,
            models, sync, hub, broker, Disk(_options.DataPath()), Capture(), (_accelerators ?? AcceleratorSelfCheck.Shared).Health)
        {
            Proving = _proving?.Health(),
        };
    }

    public void Dispose()
    {
        _engine.Activated -= OnActivated;
        if (_sync is not null)
        {
            _sync.Changed -= OnChanged;
        }

        if (_events is not null)
        {
            _events.Added -= OnEvent;
        }

        if (_drift is not null)
        {
            _drift.LevelChanged -= OnDrift;
        }

        if (_hub is not null)
        {
            _hub.ConnectionStateChanged -= OnHubState;
        }

        if (_readiness is not null)
        {
            _readiness.Changed -= OnChanged;
        }
    }

    /// <summary>
    /// Unhealthy when a model serves nothing (or a desired one is invalid or failed with nothing serving); degraded
    /// when something works at less than asked: a fallback provider, a refused version, drift, a lost link.
    /// </summary>
    internal static string Status(IReadOnlyList<ModelHealth> models, SyncHealth sync, HubHealth hub, BrokerHealth broker)
    {
        if (models.Any(m => m.State == Name(ModelState.Failed))
            || sync.Models.Any(m => m.ActiveVersion is null && m.Phase is "failed" or "invalid" or "refused"))
        {
            return HealthStatus.Unhealthy;
        }

        var degraded = models.Any(m => m.Degraded || m.LastFailure is not null || m.Drift?.Level == Name(DriftLevel.Significant))
            || sync.RegistryError is not null
            || sync.Models.Any(m => m.Phase is "failed" or "refused" or "invalid")
            || (hub.Configured && !hub.Connected)
            || (broker.Configured && !broker.Connected);
        return degraded ? HealthStatus.Degraded : HealthStatus.Healthy;
    }

    internal static DiskHealth Disk(string path)
    {
        // The data folder may not exist yet on a fresh device; its nearest existing parent is on the same disk.
        var existing = new DirectoryInfo(path);
        while (existing is { Exists: false, Parent: not null })
        {
            existing = existing.Parent;
        }

        try
        {
            var drive = new DriveInfo(existing.FullName);
            return new DiskHealth(path, drive.AvailableFreeSpace, drive.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Health must not fail because the disk cannot be asked; it reports the sizes as unknown.
            return new DiskHealth(path, null, null);
        }
    }

    private ModelHealth Model(ModelStatus status, DriftReport? drift)
    {
        var (requests, errors, latency) = _requests.Of(status.Name);
        var providers = status.Providers;

        // A refused new version leaves the old one serving: the model works, at less than what was asked.
        var refused = status.Version is not null && _sync?.Find(status.Name) is { Phase: SyncPhase.Refused } sync ? sync.Message : null;
        return new ModelHealth(
            status.Name,
            Name(status.State),
            status.Version,
            providers?.Effective,
            providers?.Requested ?? [],
            providers?.Chain.Select(c => new ProviderHealth(c.Provider, Name(c.State), c.Reason)).ToArray() ?? [],
            providers?.IsDegraded == true || refused is not null,
            providers?.IsDegraded == true ? string.Join("; ", new[] { providers.DegradedReason, refused }.OfType<string>()) : refused,
            status.Building,
            latency,
            requests,
            errors,
            status.LastFailure is { } f ? new FailureHealth(f.Version, Name(f.Stage), f.Reason, f.At) : null,
            drift is null ? null : new DriftHealth(
                Name(drift.Level),
                Math.Round(drift.MaxPopulationStabilityIndex, 4),
                drift.Version,
                drift.Features.Select(t => new TensorDriftHealth(t.Key, t.Side, t.Samples, Math.Round(t.PopulationStabilityIndex, 4),
                    Math.Round(t.KolmogorovSmirnov, 4), Math.Round(t.JensenShannon, 4), Name(t.Level))).ToArray()));
    }

    private SyncHealth Sync()
    {
        if (_sync is null)
        {
            return new SyncHealth(null, null, null, []);
        }

        return new SyncHealth(_sync.Registry, _sync.RegistryError, _sync.LastReconcileAt,
            _sync.Models.Select(m => new ModelSyncHealth(m.Model, m.Desired, Name(m.Phase), m.ActiveVersion, m.TargetVersion, m.Progress, m.Message)).ToArray());
    }

    private CaptureHealth? Capture()
    {
        if (_capture is null)
        {
            return null;
        }

        var queued = _captureChannel?.Reader.CanCount == true ? _captureChannel.Reader.Count : 0;
        return new CaptureHealth(queued, _capture.StoreRecords, _capture.StoreBytes, _captureSettings?.Value.Store.QuotaBytes ?? 0, _capture.DroppedByReason());
    }

    private static string Name<T>(T value) where T : struct, Enum => HealthJsonContext.Name(value);

    private void OnActivated(object? sender, ActivationResult e) => Changed?.Invoke(this, EventArgs.Empty);

    private void OnChanged(object? sender, EventArgs e) => Changed?.Invoke(this, EventArgs.Empty);

    private void OnEvent(object? sender, AgentEvent e) => Changed?.Invoke(this, EventArgs.Empty);

    private void OnDrift(DriftEvent e) => Changed?.Invoke(this, EventArgs.Empty);

    private void OnHubState(object? sender, IoTHubConnectionStateChangedEventArgs e)
    {
        _hubError = e.Reason;
        Changed?.Invoke(this, EventArgs.Empty);
    }
}
