using System.Collections.Concurrent;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Probation;

/// <summary>
/// Puts each newly promoted version on probation against the previous good version, looks at it every
/// <see cref="LookInterval"/> (sooner under load) through <see cref="ProbationJudge"/>, records a version that
/// passes as good, and has model sync take back one that breaches a threshold.
/// </summary>
internal sealed class ProbationService : BackgroundService
{
    public static readonly TimeSpan LookInterval = TimeSpan.FromSeconds(1);
    private const double MiB = 1024 * 1024;

    private readonly ConcurrentDictionary<string, Trial> _trials = new(StringComparer.Ordinal);
    private readonly ModelSync _sync;
    private readonly DesiredStateSource _desired;
    private readonly TrafficWindows _windows;
    private readonly GoodVersions _good;
    private readonly ProvingStatus _status;
    private readonly AgentEventLog _events;
    private readonly ProvingMetrics _metrics;
    private readonly DriftRegistry _drift;
    private readonly TimeProvider _time;
    private readonly ILogger<ProbationService> _logger;

    public ProbationService(
        ModelActivation activation, ModelSync sync, DesiredStateSource desired, TrafficWindows windows, GoodVersions good, ProvingStatus status,
        AgentEventLog events, ProvingMetrics metrics, DriftRegistry drift, TimeProvider time, ILogger<ProbationService> logger)
    {
        ArgumentNullException.ThrowIfNull(activation);
        (_sync, _desired, _windows, _good, _status, _events, _metrics, _drift, _time, _logger) = (sync, desired, windows, good, status, events, metrics, drift, time, logger);

        // In the constructor: the host builds every hosted service before starting any, so the versions model sync
        // serves from disk at start-up are seen too.
        activation.Promoted += OnPromoted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    var tick = Task.Delay(LookInterval, _time, wait.Token);
                    var nudge = _windows.Nudges.WaitToReadAsync(wait.Token).AsTask();
                    await Task.WhenAny(tick, nudge).ConfigureAwait(false);
                    await wait.CancelAsync().ConfigureAwait(false);
                    _windows.Nudges.TryRead(out _);
                }

                stoppingToken.ThrowIfCancellationRequested();
                await LookAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One look at every version on probation.</summary>
    internal async Task LookAsync(CancellationToken cancellationToken)
    {
        foreach (var trial in _trials.Values)
        {
            try
            {
                await LookAsync(trial, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One model's trouble must not end the others' probation.
                Log.ProbationFailed(_logger, e, trial.Model);
            }
        }
    }

    private async Task LookAsync(Trial trial, CancellationToken cancellationToken)
    {
        var settings = _desired.Current.State.Models.TryGetValue(trial.Model, out var model) ? model.Probation : trial.Settings;
        var baseline = _windows.Find(trial.Model, trial.Previous);
        var candidate = trial.Window.Figures(baseline, trial.PackageOutputs);
        var figures = new ProbationFigures(
            trial.Version, trial.Previous, candidate, baseline?.Figures(), _time.GetUtcNow() - trial.Since, (Environment.WorkingSet - trial.WorkingSetAtSwap) / MiB);
        var verdict = ProbationJudge.Judge(settings, figures);
        switch (verdict)
        {
            case ProbationVerdict.Pending pending:
                _status.Set(new ProbationState(trial.Model, trial.Version, trial.Previous, ProbationPhase.OnProbation, candidate.Requests, pending.Why, trial.Since));
                break;
            case ProbationVerdict.Passed passed:
                if (!_trials.TryRemove(new KeyValuePair<string, Trial>(trial.Model, trial)))
                {
                    return;
                }

                _good.MarkGood(trial.Model, trial.Version);
                _metrics.Passed.Add(1, new KeyValuePair<string, object?>("model", trial.Model));
                _status.Set(new ProbationState(trial.Model, trial.Version, trial.Previous, ProbationPhase.Passed, candidate.Requests, passed.Summary, trial.Since));
                _events.Add(AgentEventKinds.ProbationPassed, trial.Model, trial.Version, $"{trial.Model} {passed.Summary}");
                Log.ProbationPassed(_logger, trial.Model, passed.Summary);
                break;
            case ProbationVerdict.Breached breached:
                if (!_trials.TryRemove(new KeyValuePair<string, Trial>(trial.Model, trial)))
                {
                    return;
                }

                Log.ProbationBreached(_logger, trial.Model, breached.Reason);
                _status.Set(new ProbationState(trial.Model, trial.Version, trial.Previous, ProbationPhase.RolledBack, candidate.Requests, breached.Reason, trial.Since));
                if (await _sync.RollBackFailedProbationAsync(trial.Model, trial.Version, trial.Previous, breached.Reason, cancellationToken).ConfigureAwait(false))
                {
                    _metrics.Rollbacks.Add(1, new KeyValuePair<string, object?>("model", trial.Model));
                }
                else
                {
                    Log.ProbationRollbackFailed(_logger, trial.Model, trial.Version, trial.Previous, breached.Reason);
                    _status.Set(new ProbationState(trial.Model, trial.Version, trial.Previous, ProbationPhase.OnProbation, candidate.Requests,
                        $"{breached.Reason}; but v{trial.Previous} could not be served again, so v{trial.Version} keeps serving", trial.Since));
                }

                break;
        }
    }

    private void OnPromoted(object? sender, ModelPromotion promotion)
    {
        try
        {
            StartTrial(promotion);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            // Raised inside model sync's activation: a probation record that cannot be read or written must not
            // fail the activation; the version serves without probation and the log says why.
            Log.ProbationFailed(_logger, e, promotion.Model);
        }
    }

    private void StartTrial(ModelPromotion promotion)
    {
        var (name, version) = (promotion.Model, promotion.Version);
        _trials.TryRemove(name, out _);
        var record = _good.Read(name);
        if (record.Good.Contains(version))
        {
            _windows.Restart(name, version, keep: null);
            if (_status.ProbationOf(name) is not { Phase: ProbationPhase.RolledBack } rolledBack || rolledBack.Version != promotion.Previous)
            {
                // A rollback's verdict stays what the model shows until the next promotion.
                _status.Set(new ProbationState(name, version, promotion.Previous, ProbationPhase.Passed, 0, $"v{version} is a good version", _time.GetUtcNow()));
            }

            return;
        }

        // After a restart mid-probation the trial starts over against the same good version.
        var previous = record.OnProbation == version && record.Previous is { } p ? p
            : promotion.Previous is { } before && record.Good.Contains(before) ? before
            : _good.LatestGood(name, except: version);
        if (!promotion.Settings.Probation.Enabled || previous is null)
        {
            // Nothing to compare with (the first version, a device from before probation) or probation is off:
            // serving it is the only evidence there is, and it becomes the version later ones are held against.
            _good.MarkGood(name, version);
            _windows.Restart(name, version, keep: null);
            _status.Set(new ProbationState(name, version, promotion.Previous, ProbationPhase.Passed, 0,
                promotion.Settings.Probation.Enabled ? $"v{version} is good: no earlier good version to compare it with" : $"v{version} is good: probation is off", _time.GetUtcNow()));
            return;
        }

        _good.Write(name, record with { OnProbation = version, Previous = previous });
        var window = _windows.Restart(name, version, keep: previous);
        var packageOutputs = _drift.Find(name) is { Version: var monitored } monitor && monitored == version ? monitor.OutputBaseline : [];
        var trial = new Trial(name, version, previous.Value, promotion.Settings.Probation, window, _time.GetUtcNow(), Environment.WorkingSet, packageOutputs);
        _trials[name] = trial;
        _status.Set(new ProbationState(name, version, previous, ProbationPhase.OnProbation, 0, $"v{version} on probation against v{previous}", trial.Since));
        Log.ProbationStarted(_logger, name, version, previous.Value);
    }

    /// <param name="PackageOutputs">The output distributions of the version's package (its drift baseline): what the outputs are compared with when the previous version has no window.</param>
    private sealed record Trial(
        string Model, long Version, long Previous, ProbationSettings Settings, VersionWindow Window, DateTimeOffset Since, long WorkingSetAtSwap,
        IReadOnlyList<BaselineDistribution> PackageOutputs);
}
