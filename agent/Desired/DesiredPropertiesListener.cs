using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Desired;

/// <summary>
/// Feeds the module twin's desired properties into the desired state: the whole document after every (re)connect
/// where its version moved, patches in version order in between (the client guarantees both).
/// </summary>
internal sealed class DesiredPropertiesListener(IIoTHubClient hub, DesiredStateSource desired, AgentEventLog events, ILogger<DesiredPropertiesListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var update in hub.ReadDesiredUpdatesAsync(stoppingToken).ConfigureAwait(false))
                {
                    if (update.Version <= desired.Current.TwinVersion && !update.IsFullDocument)
                    {
                        continue; // already applied (a patch that raced the full document after a reconnect)
                    }

                    var applied = desired.Apply(update);
                    Log.DesiredApplied(logger, update.Version, update.IsFullDocument ? "document" : "patch", applied.State.Models.Count, applied.Issues.Count);
                    foreach (var issue in applied.Issues)
                    {
                        var model = issue.Path.StartsWith("models.", StringComparison.Ordinal) ? issue.Path.Split('.')[1] : null;
                        events.Add(AgentEventKinds.DesiredRefused, model, null, $"desired $version {update.Version}: {issue}");
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The stream ends only with the client; anything else is logged and the stream is read again.
                Log.DesiredStreamFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
