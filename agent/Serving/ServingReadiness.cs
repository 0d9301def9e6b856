using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Serving;

internal enum ReadinessState
{
    Ready,

    /// <summary>Known here but not to be sent traffic now (HTTP 503, gRPC <c>ready: false</c>).</summary>
    NotReady,

    /// <summary>No such model or version here (HTTP 404, gRPC <c>NOT_FOUND</c>).</summary>
    Unknown,
}

/// <param name="Reason">Why not, for people; null when ready.</param>
internal readonly record struct Readiness(ReadinessState State, string? Reason)
{
    public static Readiness Ready { get; } = new(ReadinessState.Ready, null);

    public bool IsReady => State == ReadinessState.Ready;

    public static Readiness NotReady(string reason) => new(ReadinessState.NotReady, reason);

    public static Readiness Unknown(string reason) => new(ReadinessState.Unknown, reason);
}

/// <summary>
/// Whether the server, or one model, should be sent traffic: the one rule behind every front door's readiness
/// (HTTP <c>/v2/health/ready</c> and <c>/v2/models/{m}/ready</c>; gRPC <c>ServerReady</c> and <c>ModelReady</c> are
/// to call the same two methods).
/// </summary>
/// <remarks>
/// <para>Ready means the models this device is meant to serve are serving. So the agent is first not ready until it
/// knows what it is meant to serve: without a hub, the configuration and what an earlier run persisted; with one, the
/// module twin, or — when the twin does not arrive within <see cref="AgentOptions.StartupDesiredTimeout"/> — the
/// desired state the last run persisted. It is then ready once every desired model serves a version.</para>
/// <para>From then on the server stays ready until shutdown: a swap keeps the old version serving until the new one is
/// in, a refused version leaves its predecessor serving, and a model added later reports through its own readiness;
/// one model loading does not take the whole server out of rotation (the trap of triton#7014). On SIGTERM readiness
/// turns 503 before anything else (<see cref="ShutdownDrain"/>).</para>
/// <para>A host without desired state (a bare engine) is ready when every model it holds serves.</para>
/// </remarks>
internal sealed class ServingReadiness : IDisposable
{
    private readonly InferenceEngine _engine;
    private readonly TimeProvider _time;
    private readonly DesiredStateSource? _desired;
    private readonly ModelSyncStatus? _sync;
    private readonly ShutdownDrain? _drain;
    private readonly IIoTHubClient? _hub;
    private readonly TimeSpan _twinTimeout;
    private readonly DateTimeOffset _twinDeadline;
    private readonly ITimer? _deadlineTimer;
    private readonly Lock _lock = new();
    private bool _beenReady;
    private Readiness? _last;

    /// <remarks>Built when the host starts (the health collector needs it), which starts the twin's clock.</remarks>
    public ServingReadiness(InferenceEngine engine, TimeProvider time, IServiceProvider services)
    {
        _engine = engine;
        _time = time;
        _desired = services.GetService<DesiredStateSource>();
        _sync = services.GetService<ModelSyncStatus>();
        _drain = services.GetService<ShutdownDrain>();
        _hub = _desired is null ? null : services.GetService<IIoTHubClient>();
        _twinTimeout = services.GetService<IOptions<AgentOptions>>()?.Value.StartupDesiredTimeout ?? TimeSpan.Zero;
        _twinDeadline = time.GetUtcNow() + _twinTimeout;

        _engine.Activated += OnActivated;
        if (_desired is not null)
        {
            _desired.Changed += OnDesiredChanged;
        }

        if (_drain is not null)
        {
            _drain.Changed += OnChanged;
        }

        if (_hub is not null && _desired?.Current.Origin != DesiredOrigin.Twin)
        {
            // When the twin is overdue, the persisted state counts (or the reason changes) without anything else changing.
            _deadlineTimer = time.CreateTimer(_ => OnChanged(this, EventArgs.Empty), null, _twinTimeout, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Raised, on the thread of whatever changed, when the server's readiness or its reason changed; handlers must not block.</summary>
    public event EventHandler? Changed;

    /// <summary>Whether the server as a whole should be sent traffic (Open Inference Protocol server ready).</summary>
    public Readiness Server()
    {
        if (ShuttingDown() is { } stopping)
        {
            return stopping;
        }

        if (_desired is null)
        {
            return _engine.GetStatuses().FirstOrDefault(s => s.State != ModelState.Ready) is { } pending
                ? Readiness.NotReady($"'{pending.Name}' is {pending.State.ToString().ToLowerInvariant()}")
                : Readiness.Ready;
        }

        var snapshot = _desired.Current;
        if (DesiredUnknown(snapshot) is { } waiting)
        {
            return Readiness.NotReady(waiting);
        }

        lock (_lock)
        {
            if (_beenReady)
            {
                return Readiness.Ready;
            }

            foreach (var name in snapshot.State.Models.Keys.Order(StringComparer.Ordinal))
            {
                if (_engine.GetStatus(name)?.State != ModelState.Ready)
                {
                    return Readiness.NotReady(NotServing(name));
                }
            }

            _beenReady = true;
            return Readiness.Ready;
        }
    }

    /// <summary>Whether one model (or one version of it) should be sent traffic (Open Inference Protocol model ready).</summary>
    /// <param name="version">A version the caller names; null for whichever serves.</param>
    public Readiness Model(string name, long? version)
    {
        if (ShuttingDown() is { } stopping)
        {
            return stopping;
        }

        var status = _engine.GetStatus(name);
        if (_desired is not null)
        {
            // Until the desired state is known, no model can be said to be missing here either.
            var snapshot = _desired.Current;
            if (DesiredUnknown(snapshot) is { } waiting)
            {
                return Readiness.NotReady(waiting);
            }

            var desired = snapshot.State.Models.ContainsKey(name);
            if (status is null)
            {
                return desired ? Readiness.NotReady(NotServing(name)) : Unknown(name);
            }

            if (!desired)
            {
                return Readiness.NotReady($"'{name}' is no longer desired and is being unloaded");
            }
        }

        if (status is null)
        {
            return Unknown(name);
        }

        if (status.State != ModelState.Ready)
        {
            return Readiness.NotReady(NotServing(name));
        }

        if (version is { } wanted && wanted != status.Version)
        {
            return status.LoadingVersion == wanted
                ? Readiness.NotReady($"'{name}' version {wanted} is loading; the active version is {status.Version}")
                : Readiness.Unknown($"Request for unknown model: '{name}' version {wanted} is not found; the active version is {status.Version}");
        }

        return Readiness.Ready;
    }

    public void Dispose()
    {
        _deadlineTimer?.Dispose();
        _engine.Activated -= OnActivated;
        if (_desired is not null)
        {
            _desired.Changed -= OnDesiredChanged;
        }

        if (_drain is not null)
        {
            _drain.Changed -= OnChanged;
        }
    }

    private Readiness? ShuttingDown() =>
        _drain is { Phase: not DrainPhase.Serving } ? Readiness.NotReady("the agent is shutting down") : null;

    /// <summary>Why what the device is meant to serve is not known yet; null once it is.</summary>
    private string? DesiredUnknown(DesiredSnapshot snapshot)
    {
        if (_hub is null || snapshot.Origin == DesiredOrigin.Twin)
        {
            return null;
        }

        var overdue = _time.GetUtcNow() >= _twinDeadline;
        if (snapshot.Origin == DesiredOrigin.Persisted && overdue)
        {
            return null;
        }

        var hub = _hub.State == IoTHubConnectionState.Connected ? "connected" : _hub.State.ToString().ToLowerInvariant();
        return (snapshot.Origin, overdue) switch
        {
            (DesiredOrigin.Persisted, _) => $"waiting for the module twin (hub {hub}); the desired state the last run persisted counts after {Seconds(_twinTimeout)}",
            (_, true) => $"waiting for the module twin: none arrived within {Seconds(_twinTimeout)} (hub {hub}) and no earlier run persisted a desired state",
            _ => $"waiting for the module twin (hub {hub}); no earlier run persisted a desired state",
        };
    }

    /// <remarks>
    /// The phase and failure stage only: <c>/v2/health/*</c> answers without a token, and sync messages can name
    /// registries; the whole story is in the health document, behind the token.
    /// </remarks>
    private string NotServing(string name)
    {
        var why = _sync?.Find(name)?.Phase is { } phase ? Phase(phase)
            : _engine.GetStatus(name)?.LastFailure is { } f ? $"v{f.Version} failed at {f.Stage}"
            : null;
        return $"'{name}' does not serve yet{(why is null ? "" : $" ({why})")}";
    }

    private static Readiness Unknown(string name) => Readiness.Unknown($"Request for unknown model: '{name}' is not found");

    private static string Phase(SyncPhase phase) => phase.ToString().ToLowerInvariant();

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.#} s";

    private void OnActivated(object? sender, ActivationResult e) => OnChanged(sender, EventArgs.Empty);

    private void OnDesiredChanged(object? sender, DesiredSnapshot e) => OnChanged(sender, EventArgs.Empty);

    private void OnChanged(object? sender, EventArgs e)
    {
        var now = Server();
        lock (_lock)
        {
            if (_last == now)
            {
                return;
            }

            _last = now;
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }
}
