using EdgeMl.Agent.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Drift;

/// <summary>
/// Evaluates every model's drift each <see cref="DriftOptions.EvaluationInterval"/>, logs and counts threshold
/// crossings, and puts each crossing in the agent's event log (from where MQTT, telemetry and the page report it).
/// </summary>
internal sealed class DriftEvaluationService(
    DriftRegistry registry,
    DriftMetrics metrics,
    IOptions<DriftOptions> options,
    TimeProvider time,
    ILogger<DriftEvaluationService> logger,
    AgentEventLog events) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        registry.LevelChanged += OnLevelChanged;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        registry.LevelChanged -= OnLevelChanged;
        return base.StopAsync(cancellationToken);
    }

    /// <summary>One evaluation round; the loop's body, callable from tests.</summary>
    public IReadOnlyList<DriftReport> EvaluateOnce() => registry.EvaluateAll();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.EvaluationInterval, time, stoppingToken);
                EvaluateOnce();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // A bad baseline for one model must not stop drift measurement for the others.
                Log.DriftEvaluationFailed(logger, e);
            }
        }
    }

    private void OnLevelChanged(DriftEvent e)
    {
        metrics.LevelChanges.Add(1, new("model", e.Model), new("level", e.Current.ToString()));
        Log.DriftLevelChanged(logger, e.Model, e.Version, e.Previous, e.Current, e.Report.MaxPopulationStabilityIndex);
        events.Add(AgentEventKinds.Drift, e.Model, e.Version, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{e.Model} v{e.Version} drift {e.Previous} → {e.Current} (max PSI {e.Report.MaxPopulationStabilityIndex:F3})"));
    }
}
