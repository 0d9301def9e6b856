using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.EdgeHub;

/// <summary>
/// The twin's <c>health</c> reported property, compacted (<see cref="HealthJson.ToTwin"/>): at most one patch per
/// <see cref="DesiredState.HealthReportInterval"/>, only when the document changed, and once more after every
/// reconnect (the hub may have missed the last one).
/// </summary>
internal sealed class TwinHealthSink : IHealthSink, IDisposable
{
    private readonly IIoTHubClient _hub;
    private readonly DesiredStateSource _desired;
    private readonly HealthMetrics _metrics;
    private readonly ILogger _logger;
    private volatile bool _resend;

    public TwinHealthSink(IIoTHubClient hub, DesiredStateSource desired, HealthMetrics metrics, ILogger<TwinHealthSink> logger)
    {
        _hub = hub;
        _desired = desired;
        _metrics = metrics;
        _logger = logger;
        _hub.ConnectionStateChanged += OnConnection;
    }

    public HealthSchedule Schedule => new(_desired.Current.State.HealthReportInterval, HealthOnChange.Coalesce, RepeatOnInterval: false);

    public bool IsReady => _hub.State == IoTHubConnectionState.Connected;

    public bool NeedsResend => _resend;

    public async Task<bool> SendAsync(AgentHealth health, CancellationToken cancellationToken)
    {
        var twin = HealthJson.ToTwin(health);
        var resend = _resend;
        _resend = false;
        var result = await _hub.UpdateReportedPropertiesAsync(new JsonObject { ["health"] = twin }, cancellationToken).ConfigureAwait(false);
        _metrics.Reported(HealthMetrics.Twin, result.Succeeded);
        if (result.Succeeded)
        {
            Log.HealthReported(_logger, TwinLimits.Size(twin));
            return true;
        }

        _resend |= resend;
        Log.HealthReportFailed(_logger, result.Error.ToString(), result.Status, result.Message, Schedule.Interval);
        return false;
    }

    public void Send(AgentEvent e)
    {
        // Events reach the hub as telemetry (TelemetryHealthSink), not in the twin.
    }

    public void Dispose() => _hub.ConnectionStateChanged -= OnConnection;

    private void OnConnection(object? sender, IoTHubConnectionStateChangedEventArgs e)
    {
        if (e.State == IoTHubConnectionState.Connected)
        {
            _resend = true;
        }
    }
}
