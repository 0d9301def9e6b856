using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.EdgeHub;

/// <summary>
/// Health telemetry to IoT Hub every <see cref="DesiredState.TelemetryInterval"/> (application property
/// <c>type=health</c>), and the events fleet tooling alerts on (activation, refusal, rollback, degraded provider,
/// drift) as they happen (<c>type=event</c>). A module sends them on its <c>events</c> output, which the deployment
/// routes upstream; a device sends them as device-to-cloud messages (<see cref="IIoTHubClient.Identity"/> says which).
/// </summary>
internal sealed class TelemetryHealthSink(IIoTHubClient hub, DesiredStateSource desired, HealthMetrics metrics, ILogger<TelemetryHealthSink> logger) : IHealthSink
{
    private static readonly HashSet<string> SentKinds = new(StringComparer.Ordinal)
    {
        AgentEventKinds.Activated, AgentEventKinds.Refused, AgentEventKinds.RolledBack, AgentEventKinds.Degraded, AgentEventKinds.Drift,
        AgentEventKinds.CaptureStoreReplaced,
    };

    public HealthSchedule Schedule => new(desired.Current.State.TelemetryInterval, HealthOnChange.Ignore, RepeatOnInterval: true);

    public Task<bool> SendAsync(AgentHealth health, CancellationToken cancellationToken)
    {
        Send(Message(HealthJson.Serialize(health), "health"));
        return Task.FromResult(true);
    }

    public void Send(AgentEvent e)
    {
        if (SentKinds.Contains(e.Kind))
        {
            Send(Message(HealthJson.Serialize(e), "event"));
        }
    }

    internal static IoTHubMessage Message(byte[] json, string type) =>
        new(json) { ContentType = "application/json", ContentEncoding = "utf-8", Properties = { ["type"] = type } };

    /// <summary>Queues the message and does not wait for the hub: the client keeps it through an outage, within its bound.</summary>
    private void Send(IoTHubMessage message) =>
        _ = (hub.Identity?.IsModule == true ? hub.SendOutputAsync(ModuleEndpoints.EventsOutput, message, CancellationToken.None) : hub.SendEventAsync(message, CancellationToken.None)).ContinueWith(t =>
        {
            var ok = t.IsCompletedSuccessfully && t.Result.Succeeded;
            metrics.Reported(HealthMetrics.Telemetry, ok);
            if (!ok)
            {
                Log.TelemetryFailed(logger, t.IsCompletedSuccessfully ? t.Result.Error.ToString() : "Faulted",
                    t.IsCompletedSuccessfully ? t.Result.Message : t.Exception?.GetBaseException().Message);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
