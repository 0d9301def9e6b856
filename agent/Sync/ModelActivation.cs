using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Sync;

/// <summary>
/// Makes an installed version serve on this device with a model's desired settings, or keeps what serves and
/// says why; records the outcome in the sync status and the event log. Model sync and operator control both use it.
/// </summary>
internal sealed class ModelActivation(
    InferenceEngine engine,
    ModelStore store,
    ModelSyncStatus status,
    AgentEventLog events,
    ModelSettingsFactory settings,
    TimeProvider time,
    ILogger<ModelActivation> logger,
    DriftRegistry drift)
{
    /// <summary>
    /// Raised when a different version starts serving a model (a promotion, a start from disk, a rollback), after the
    /// sync status says so; probation listens. Handlers must not block.
    /// </summary>
    public event EventHandler<ModelPromotion>? Promoted;

    /// <summary>The runtime's load, warm-up and golden check with the model's settings, then the swap.</summary>
    public EngineValidator Validator(DesiredModel model) => new(engine, settings.For(model));

    /// <summary>Makes an installed version serve with the desired settings: through the store when it is not the active one yet.</summary>
    public async Task ServeInstalledAsync(string name, DesiredModel model, ModelWork work, long version, CancellationToken cancellationToken)
    {
        if (engine.GetStatus(name) is { Version: { } serving } && serving == version && work.ServingSettings is { } applied && applied.SameRuntimeSettings(model))
        {
            SetState(name, model, SyncPhase.Active, version, version, null);
            return;
        }

        if (work.IsRefused(version, model))
        {
            SetState(name, model, SyncPhase.Refused, engine.GetStatus(name)?.Version, version, work.RefusalReason);
            return;
        }

        SetState(name, model, SyncPhase.Activating, engine.GetStatus(name)?.Version, version, $"loading, warming up and checking v{version}");
        var validator = Validator(model);
        try
        {
            if (store.GetActive(name)?.Version == version)
            {
                var verdict = await validator.ValidateAsync(ModelPackage.Open(store.VersionFolder(name, version)), cancellationToken).ConfigureAwait(false);
                if (!verdict.Accepted)
                {
                    Refused(name, model, work, version, $"{verdict.Stage}: {verdict.Reason}");
                    return;
                }
            }
            else
            {
                var outcome = await store.ActivateAsync(name, version, validator, cancellationToken).ConfigureAwait(false);
                if (!outcome.Activated)
                {
                    Refused(name, model, work, version, $"{outcome.Validation.Stage}: {outcome.Validation.Reason}");
                    return;
                }
            }
        }
        catch (ModelManifestException e)
        {
            // Installed packages were verified; an unreadable manifest now is damage on disk. The folder goes, so
            // the next pass fetches the version again instead of failing on it forever.
            store.Remove(name, version);
            work.NextAttempt = time.GetUtcNow();
            var running = engine.GetStatus(name)?.Version;
            SetState(name, model, SyncPhase.Failed, running, version,
                $"v{version} on disk is damaged ({e.Message}); removed, to be fetched again; {(running is { } r ? $"v{r} keeps serving" : "nothing serves yet")}");
            events.Add(AgentEventKinds.SyncFailed, name, version, $"{name} v{version} on disk is damaged and was removed to be fetched again: {e.Message}");
            return;
        }

        Served(name, model, work, version, null);
    }

    public void Served(string name, DesiredModel model, ModelWork work, long version, string? why)
    {
        var previous = work.ServingVersion;
        work.ServingVersion = version;
        work.ServingSettings = model;
        work.Refusal = null;
        ActivateDrift(name, version);
        var providers = engine.GetStatus(name)?.Providers;
        if (previous != version)
        {
            events.Add(AgentEventKinds.Activated, name, version,
                $"{name} v{version} activated{(previous is { } p ? $" (was v{p})" : "")} on {providers?.Effective ?? "cpu"}{(why is null ? "" : $", {why}")}");
        }

        if (providers is { IsDegraded: true })
        {
            events.Add(AgentEventKinds.Degraded, name, version, $"{name} v{version}: {providers.DegradedReason}");
        }

        SetState(name, model, SyncPhase.Active, version, version, why);
        if (previous != version)
        {
            Promoted?.Invoke(this, new ModelPromotion(name, version, previous, model));
        }
    }

    public void Refused(string name, DesiredModel model, ModelWork work, long? version, string reason, bool remember = true)
    {
        var serving = engine.GetStatus(name)?.Version;
        var message = $"{(version is { } v ? $"v{v}" : model.VersionText)} refused: {reason}; {(serving is { } s ? $"v{s} keeps serving" : "nothing serves")}";
        if (remember && version is { } refused)
        {
            work.Refusal = (refused, model, message);
        }

        SetState(name, model, SyncPhase.Refused, serving, version, message);
        events.Add(AgentEventKinds.Refused, name, version, $"{name} {message}");
    }

    public void ActivateDrift(string name, long version)
    {
        try
        {
            drift.Activate(name, version, DriftBaseline.FromManifest(ModelPackage.Open(store.VersionFolder(name, version)).Manifest));
        }
        catch (Exception e) when (e is ModelManifestException or IOException or System.Text.Json.JsonException or FormatException)
        {
            // A baseline the agent cannot read leaves drift off for this version; serving is unaffected.
            Log.BaselineUnreadable(logger, name, version, e.Message);
            drift.Remove(name);
        }
    }

    /// <summary>
    /// Serves <paramref name="good"/> again in place of <paramref name="refused"/> (a failed probation): loaded and
    /// swapped in beside the running version, so no request fails; <paramref name="refused"/> is remembered as
    /// refused with <paramref name="reason"/>, on disk too, so neither the next pass nor a restart promotes it again.
    /// </summary>
    public async Task<bool> ReinstateAsync(string name, DesiredModel model, ModelWork work, long refused, long good, string reason, CancellationToken cancellationToken)
    {
        var outcome = await store.ReinstateAsync(name, good, refused, "probation", reason, Validator(model), cancellationToken).ConfigureAwait(false);
        if (!outcome.Activated)
        {
            return false;
        }

        work.Override = null;
        work.ServingVersion = good;
        work.ServingSettings = model;
        work.Refusal = (refused, model, reason);
        ActivateDrift(name, good);
        SetState(name, model, SyncPhase.Refused, good, refused, reason);
        events.Add(AgentEventKinds.RolledBack, name, good, $"{name} {reason}");
        Promoted?.Invoke(this, new ModelPromotion(name, good, refused, model));
        return true;
    }

    public void SetState(string name, DesiredModel model, SyncPhase phase, long? active, long? target, string? message, double? progress = null) =>
        status.Set(new ModelSyncState(name, model.VersionText, phase, active, target, message, time.GetUtcNow()) { Progress = progress });
}

/// <summary>A version that now serves a model in place of <paramref name="Previous"/> (null at start-up), under <paramref name="Settings"/>.</summary>
internal sealed record ModelPromotion(string Model, long Version, long? Previous, DesiredModel Settings);
