using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Telemetry;
using EdgeMl.CloudSync.Registries;
using EdgeMl.CloudSync.Retry;
using EdgeMl.CloudSync.Secrets;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sync;

/// <summary>
/// The reconcile loop: desired state against what serves → a plan per model → pull, verify, install, activate (or
/// keep the last good version and say why) → a typed state others report. It first serves what is active on disk,
/// so a device without a cloud serves at once; then it follows the desired state, retrying failed pulls with
/// back-off and polling the registry for models that follow <c>latest</c>.
/// </summary>
internal sealed class ModelSync(
    InferenceEngine engine,
    ModelStore store,
    FileDownloader downloader,
    IModelRegistryFactory registries,
    DesiredStateSource desired,
    ModelSyncStatus status,
    AgentEventLog events,
    ModelActivation activation,
    TrustPolicy trust,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<ModelSync> logger,
    ILogger<ModelPuller> pullerLogger,
    DistributionMetrics metrics,
    DriftRegistry drift) : BackgroundService, IModelControl
{
    private readonly ConcurrentDictionary<string, ModelWork> _work = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IModelRegistry> _registries = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly AgentOptions _options = options.Value;
    private readonly BackOff _backOff = new(options.Value.RetryMinDelay, options.Value.RetryMaxDelay);
    private readonly TaskCompletionSource _servedFromDisk = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once what was active on disk serves (or failed to).</summary>
    public Task ServedFromDisk => _servedFromDisk.Task;

    /// <summary>Asks for a reconcile now (a desired change, a control command, a link that came back).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        desired.Changed += OnDesiredChanged;
        try
        {
            store.Recover();
            await ServeFromDiskAsync(desired.Current.State, stoppingToken).ConfigureAwait(false);
            _servedFromDisk.TrySetResult();
            var serving = engine.GetStatuses().Where(s => s.State == ModelState.Ready).Select(s => $"{s.Name} v{s.Version}").ToArray();
            events.Add(AgentEventKinds.Started, null, null,
                $"agent started; {(serving.Length == 0 ? "nothing on disk to serve yet" : $"serving {string.Join(", ", serving)} from disk")}");
            while (!stoppingToken.IsCancellationRequested)
            {
                TimeSpan wait;
                try
                {
                    wait = await ReconcileAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // One bad pass must not end the loop: the device keeps serving and tries again.
                    Log.ReconcileFailed(logger, e);
                    wait = _options.RetryMinDelay;
                }

                await WaitAsync(wait, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _servedFromDisk.TrySetResult();
            desired.Changed -= OnDesiredChanged;
        }
    }

    public Task<ModelControlResult> ActivateAsync(string model, long version, CancellationToken cancellationToken) =>
        ActivateAsync(model, version, "activated by an operator", cancellationToken);

    /// <summary>Activates a version like an operator does, saying why (<paramref name="why"/>: a shadow that met its promotion rule).</summary>
    public async Task<ModelControlResult> ActivateAsync(string model, long version, string why, CancellationToken cancellationToken)
    {
        if (!desired.Current.State.Models.TryGetValue(model, out var wanted))
        {
            return new(404, $"'{model}' is not a desired model", null);
        }

        var work = Work(model, wanted);
        await work.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!store.GetInstalledVersions(model).Contains(version))
            {
                if (Registry(desired.Current.State.Registry) is not { } registry)
                {
                    return new(404, $"{model} v{version} is not installed and no registry is configured", engine.GetStatus(model)?.Version);
                }

                await Puller(registry).PullAsync(new PullRequest(model, version) { Pinned = true, InstallOnly = true }, activation.Validator(wanted), Progress(model, wanted, version), cancellationToken).ConfigureAwait(false);
            }

            var outcome = await store.ActivateAsync(model, version, activation.Validator(wanted), cancellationToken).ConfigureAwait(false);
            if (!outcome.Activated)
            {
                activation.Refused(model, wanted, work, version, $"{outcome.Validation.Stage}: {outcome.Validation.Reason}");
                return new(500, $"{model} v{version} was refused at {outcome.Validation.Stage}: {outcome.Validation.Reason}", engine.GetStatus(model)?.Version);
            }

            work.Override = version;
            activation.Served(model, wanted, work, version, why);
            return new(200, $"{model} v{version} serves (held until the desired entry changes)", version);
        }
        catch (Exception e) when (e is PackageVerificationException or RegistryException or DownloadException or InsufficientSpaceException or IOException)
        {
            return new(500, $"{model} v{version}: {e.Message}", engine.GetStatus(model)?.Version);
        }
        finally
        {
            work.Gate.Release();
        }
    }

    public async Task<ModelControlResult> RollbackAsync(string model, CancellationToken cancellationToken)
    {
        if (!desired.Current.State.Models.TryGetValue(model, out var wanted))
        {
            return new(404, $"'{model}' is not a desired model", null);
        }

        var work = Work(model, wanted);
        await work.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var active = store.GetActive(model);
            if (ModelPlanner.RollBack(model, active?.Version, active?.Previous, store.GetInstalledVersions(model)) is not ModelStep.RollBack { From: var from, To: var previous })
            {
                return new(409, $"{model} has no previous good version on disk to roll back to", active?.Version);
            }

            var verdict = await activation.Validator(wanted).ValidateAsync(ModelPackage.Open(store.VersionFolder(model, previous)), cancellationToken).ConfigureAwait(false);
            if (!verdict.Accepted)
            {
                return new(500, $"{model} v{previous} no longer loads ({verdict.Stage}: {verdict.Reason}); v{from} keeps serving", engine.GetStatus(model)?.Version);
            }

            store.Rollback(model);
            work.Override = previous;
            work.ServingVersion = previous;
            work.ServingSettings = wanted;
            activation.ActivateDrift(model, previous);
            events.Add(AgentEventKinds.RolledBack, model, previous, $"{model} rolled back from v{from} to v{previous} by an operator");
            activation.SetState(model, wanted, SyncPhase.Active, previous, previous, $"rolled back from v{from} by an operator");
            return new(200, $"{model} rolled back from v{from} to v{previous}", previous);
        }
        finally
        {
            work.Gate.Release();
        }
    }

    /// <summary>Installs a version without activating it (a shadow's), pulling it from the registry when it is not on disk.</summary>
    /// <returns>Null when installed; otherwise why not.</returns>
    public async Task<string?> InstallAsync(string model, long version, CancellationToken cancellationToken)
    {
        if (store.GetInstalledVersions(model).Contains(version))
        {
            return null;
        }

        if (!desired.Current.State.Models.TryGetValue(model, out var wanted) || Registry(desired.Current.State.Registry) is not { } registry)
        {
            return $"v{version} is not installed and no registry is configured";
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PullTimeout);
            await Puller(registry).PullAsync(new PullRequest(model, version) { Pinned = true, InstallOnly = true }, activation.Validator(wanted), null, timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is PackageVerificationException or RegistryException or DownloadException or InsufficientSpaceException or IOException or HttpRequestException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Takes <paramref name="from"/> back after a failed probation: <paramref name="to"/> (a good version on disk)
    /// serves again and <paramref name="from"/> is refused with <paramref name="reason"/> until the desired entry changes.
    /// </summary>
    /// <returns>False when <paramref name="from"/> no longer serves (something else moved on) or <paramref name="to"/> does not load.</returns>
    public async Task<bool> RollBackFailedProbationAsync(string model, long from, long to, string reason, CancellationToken cancellationToken)
    {
        if (!desired.Current.State.Models.TryGetValue(model, out var wanted))
        {
            return false;
        }

        var work = Work(model, wanted);
        await work.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (engine.GetStatus(model)?.Version != from || !store.GetInstalledVersions(model).Contains(to))
            {
                return false;
            }

            return await activation.ReinstateAsync(model, wanted, work, from, to, reason, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            work.Gate.Release();
        }
    }

    private void OnDesiredChanged(object? sender, DesiredSnapshot snapshot) => Wake();

    /// <summary>Serves each desired model's active version from disk, before any network call.</summary>
    private async Task ServeFromDiskAsync(DesiredState state, CancellationToken cancellationToken)
    {
        foreach (var (name, model) in state.Models)
        {
            var work = Work(name, model);
            await work.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (store.GetActive(name) is not { } active || !Directory.Exists(store.VersionFolder(name, active.Version)))
                {
                    activation.SetState(name, model, SyncPhase.Pending, null, model.Version, "nothing installed yet");
                    continue;
                }

                await activation.ServeInstalledAsync(name, model, work, active.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A damaged folder on disk must not keep the agent from starting or the other models from serving.
                Unexpected(name, model, work, e);
            }
            finally
            {
                work.Gate.Release();
            }
        }
    }

    /// <returns>How long until the next model is due.</returns>
    /// <summary>Unloads what serves but is no longer desired, and forgets the status of models no longer desired.</summary>
    private void UnloadNotDesired(DesiredState state)
    {
        var notDesired = new ModelDesire(null, state.PollInterval, null);
        foreach (var served in engine.GetStatuses().Where(s => !state.Models.ContainsKey(s.Name)
                     && ModelPlanner.Next(notDesired, [], s.Version, ModelHistory.Empty, time.GetUtcNow()) is ModelStep.Unload))
        {
            engine.Unload(served.Name);
            drift.Remove(served.Name);
            _work.TryRemove(served.Name, out _);
            status.Remove(served.Name);
            events.Add(AgentEventKinds.Unloaded, served.Name, served.Version, $"{served.Name} is no longer desired and was unloaded");
        }

        foreach (var name in status.Models.Select(m => m.Model).Where(m => !state.Models.ContainsKey(m)))
        {
            status.Remove(name);
        }
    }

    private async Task<TimeSpan> ReconcileAsync(CancellationToken cancellationToken)
    {
        var state = desired.Current.State;
        UnloadNotDesired(state);
        string? registryError = null;
        IModelRegistry? registry = null;
        try
        {
            registry = Registry(state.Registry);
        }
        catch (ArgumentException e)
        {
            registryError = $"registry '{state.Registry}' is not usable: {e.Message}";
        }

        var next = state.PollInterval;
        foreach (var (name, model) in state.Models)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var work = Work(name, model);
            if (ModelPlanner.Next(new ModelDesire(model, state.PollInterval, null), [], null, work.History, time.GetUtcNow()) is ModelStep.WaitUntil wait)
            {
                next = Min(next, wait.Due - time.GetUtcNow());
                continue;
            }

            await work.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var error = await SyncAsync(name, model, work, registry, registryError, cancellationToken).ConfigureAwait(false);
                registryError ??= error;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Something no one planned for in one model must not stop the others.
                Unexpected(name, model, work, e);
            }
            finally
            {
                work.Gate.Release();
            }

            next = Min(next, work.NextAttempt - time.GetUtcNow());
        }

        status.Reconciled(state.Registry, registryError, time.GetUtcNow());
        return next < TimeSpan.Zero ? TimeSpan.Zero : next;
    }

    /// <returns>A registry error to report, or null.</returns>
    private async Task<string?> SyncAsync(string name, DesiredModel model, ModelWork work, IModelRegistry? registry, string? registryError, CancellationToken cancellationToken)
    {
        using var trace = Traces.StartSync(name, model.VersionText);
        var desire = new ModelDesire(model, desired.Current.State.PollInterval, registry is null ? registryError ?? "no registry is configured" : null);
        var step = ModelPlanner.Next(desire, store.GetInstalledVersions(name), store.GetActive(name)?.Version, work.History, time.GetUtcNow());
        switch (step)
        {
            case ModelStep.ServeInstalled serve:
                await ServeAsync(name, model, work, serve, cancellationToken).ConfigureAwait(false);
                return null;
            case ModelStep.Fail fail:
                activation.SetState(name, model, SyncPhase.Failed, engine.GetStatus(name)?.Version, fail.Version, fail.Reason);
                work.NextAttempt = fail.NextAttempt;
                return null;
            case ModelStep.Pull pull when registry is not null:
                return await PullAsync(name, model, work, registry, desire, pull, cancellationToken).ConfigureAwait(false);
            default:
                return null;
        }
    }

    /// <summary>Serves an installed version; the next look is set first, so a damaged folder found now is fetched again at once.</summary>
    private Task ServeAsync(string name, DesiredModel model, ModelWork work, ModelStep.ServeInstalled serve, CancellationToken cancellationToken)
    {
        work.NextAttempt = serve.NextAttempt;
        return activation.ServeInstalledAsync(name, model, work, serve.Version, cancellationToken);
    }

    private async Task<string?> PullAsync(
        string name, DesiredModel model, ModelWork work, IModelRegistry registry, ModelDesire desire, ModelStep.Pull pull, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PullTimeout);
            activation.SetState(name, model, SyncPhase.Downloading, engine.GetStatus(name)?.Version, pull.Version, $"checking {registry.Description}");
            var pulled = await Puller(registry).PullAsync(
                new PullRequest(name, pull.Version) { Pinned = pull.Pinned, InstallOnly = true }, activation.Validator(model), Progress(name, model, pull.Version), timeout.Token).ConfigureAwait(false);
            work.Failures = 0;
            switch (ModelPlanner.Pulled(pulled.Version, desire, work.History, time.GetUtcNow()))
            {
                case ModelStep.Refuse refuse:
                    work.NextAttempt = refuse.NextAttempt;
                    activation.SetState(name, model, SyncPhase.Refused, engine.GetStatus(name)?.Version, refuse.Version, refuse.Reason);
                    break;
                case ModelStep.ServeInstalled serve:
                    await ServeAsync(name, model, work, serve, cancellationToken).ConfigureAwait(false);
                    break;
            }

            return null;
        }
        catch (PackageVerificationException e)
        {
            // Tampering, expiry, an older list, downgrade: not retried at once; the registry may be fixed by the next poll.
            work.NextAttempt = time.GetUtcNow() + desire.PollInterval;
            Log.PullRefused(logger, name, model.VersionText, e.Failure, e.Message);
            activation.Refused(name, model, work, model.Version, e.Message, remember: false);
            return null;
        }
        catch (Exception e) when (e is RegistryException or DownloadException or InsufficientSpaceException or IOException or HttpRequestException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var delay = _backOff.Delay(++work.Failures);
            work.NextAttempt = time.GetUtcNow() + delay;
            var message = e is OperationCanceledException ? $"the pull did not finish within {_options.PullTimeout}" : e.Message;
            var serving = engine.GetStatus(name)?.Version;
            activation.SetState(name, model, SyncPhase.Failed, serving, model.Version,
                $"{message}; {(serving is { } s ? $"v{s} keeps serving" : "nothing serves yet")}; retrying in {delay.TotalSeconds:0} s");
            Log.PullFailed(logger, name, model.VersionText, SecretRedactor.RedactValue(message), delay);
            if (work.Failures == 1)
            {
                events.Add(AgentEventKinds.SyncFailed, name, model.Version, $"{name} {model.VersionText}: {message}");
            }

            return e is RegistryException ? message : null;
        }
    }

    /// <summary>An unplanned failure of one model: reported, logged, and retried with back-off like a failed pull.</summary>
    private void Unexpected(string name, DesiredModel model, ModelWork work, Exception e)
    {
        var delay = _backOff.Delay(++work.Failures);
        work.NextAttempt = time.GetUtcNow() + delay;
        var serving = engine.GetStatus(name)?.Version;
        activation.SetState(name, model, SyncPhase.Failed, serving, model.Version,
            $"{e.GetType().Name}: {e.Message}; {(serving is { } v ? $"v{v} keeps serving" : "nothing serves yet")}; retrying in {delay.TotalSeconds:0} s");
        Log.ModelSyncFailed(logger, e, name);
    }

    private SyncProgress Progress(string name, DesiredModel model, long? version)
    {
        var last = -1;
        return new SyncProgress(p =>
        {
            var percent = p.Total > 0 ? (int)(p.Received * 100 / p.Total) : 0;
            if (percent != last)
            {
                last = percent;
                activation.SetState(name, model, SyncPhase.Downloading, engine.GetStatus(name)?.Version, version, $"downloading {p.Path} ({percent} %)", percent / 100.0);
            }
        });
    }

    private ModelWork Work(string name, DesiredModel model)
    {
        var work = _work.GetOrAdd(name, n => new ModelWork(model) { Refusal = store.GetLastRejection(n) is { } r ? (r.Version, model, $"v{r.Version} refused at {r.Stage}: {r.Reason}") : null });
        if (!ReferenceEquals(work.Desired, model) && work.Desired != model)
        {
            // A changed entry is worked on at once; an operator's hold ends with it.
            work.Desired = model;
            work.Override = null;
            work.Failures = 0;
            work.NextAttempt = DateTimeOffset.MinValue;
            activation.SetState(name, model, SyncPhase.Pending, engine.GetStatus(name)?.Version, model.Version, "desired entry changed");
        }

        return work;
    }

    private IModelRegistry? Registry(string? target) => target is null ? null : _registries.GetOrAdd(target, registries.Create);

    private ModelPuller Puller(IModelRegistry registry) => new(registry, store, trust, downloader, time, pullerLogger, metrics);

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sleeping = Task.Delay(wait, time, delay.Token);
        var woken = _wake.Reader.WaitToReadAsync(delay.Token).AsTask();
        await Task.WhenAny(sleeping, woken).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
