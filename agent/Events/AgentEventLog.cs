namespace EdgeMl.Agent.Events;

/// <summary>Something a field engineer or operator wants to know happened: an activation, a refusal, a rollback, a degraded provider, drift.</summary>
/// <param name="Kind">One of <see cref="AgentEventKinds"/>.</param>
internal sealed record AgentEvent(DateTimeOffset At, string Kind, string? Model, long? Version, string Message);

internal static class AgentEventKinds
{
    public const string Started = "started";
    public const string Activated = "activated";
    public const string Refused = "refused";
    public const string RolledBack = "rolledBack";
    public const string ProbationPassed = "probationPassed";
    public const string ShadowPromoted = "shadowPromoted";
    public const string Degraded = "degraded";
    public const string Unloaded = "unloaded";
    public const string SyncFailed = "syncFailed";
    public const string DesiredRefused = "desiredRefused";
    public const string Drift = "drift";
    public const string CaptureStoreReplaced = "captureStoreReplaced";
}

/// <summary>
/// The agent's recent events, newest last, bounded; every reporter (MQTT events, telemetry, the diagnostics page,
/// the support bundle) reads from here or listens to <see cref="Added"/>.
/// </summary>
internal sealed class AgentEventLog(TimeProvider time)
{
    private const int Capacity = 200;
    private readonly Queue<AgentEvent> _events = new();
    private readonly Lock _lock = new();

    /// <summary>Raised after an event is added, on the thread that added it; handlers must not block.</summary>
    public event EventHandler<AgentEvent>? Added;

    public AgentEvent Add(string kind, string? model, long? version, string message)
    {
        var e = new AgentEvent(time.GetUtcNow(), kind, model, version, message);
        lock (_lock)
        {
            if (_events.Count == Capacity)
            {
                _events.Dequeue();
            }

            _events.Enqueue(e);
        }

        Added?.Invoke(this, e);
        return e;
    }

    /// <summary>The newest <paramref name="max"/> events, oldest first.</summary>
    public IReadOnlyList<AgentEvent> Recent(int max = Capacity)
    {
        lock (_lock)
        {
            return _events.Skip(Math.Max(0, _events.Count - max)).ToArray();
        }
    }
}
