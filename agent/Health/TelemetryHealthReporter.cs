using EdgeMl.Agent.Desired;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Health telemetry to IoT Hub every <see cref="DesiredState.TelemetryInterval"/> (application property
/// <c>type=health</c>), and the events fleet tooling alerts on (activation, refusal, rollback, degraded provider,
/// drift) as they happen (<c>type=event</c>). A module sends them on its <c>events</c> output, which the deployment
/// routes upstream; a device sends them as device-to-cloud messages. Does nothing without an IoT Hub client.
/// </summary>
internal sealed class TelemetryHealthReporter : BackgroundService
{
    private static readonly HashSet<string> SentKinds = new(StringComparer.Ordinal)
    {
        AgentEventKinds.Activated, AgentEventKinds.Refused, AgentEventKinds.RolledBack, AgentEventKinds.Degraded, AgentEventKinds.Drift,
        AgentEventKinds.CaptureStoreReplaced,
    };

    private readonly HealthCollector _collector;
    private readonly HealthMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IIoTHubClient? _hub;
    private readonly DesiredStateSource? _desired;
    private readonly AgentEventLog? _events;

    public TelemetryHealthReporter(HealthCollector collector, HealthMetrics metrics, TimeProvider time, ILogger<TelemetryHealthReporter> logger, IServiceProvider services)
    {
        _collector = collector;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _hub = services.GetService<IIoTHubClient>();
        _desired = services.GetService<DesiredStateSource>();
        _events = services.GetService<AgentEventLog>();
    }

    private TimeSpan Interval => _desired?.Current.State.TelemetryInterval ?? DesiredState.Empty.TelemetryInterval;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_hub is not null && _events is not null)
        {
            _events.Added += OnEvent;
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_events is not null)
        {
            _events.Added -= OnEvent;
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static IoTHubMessage Message(byte[] json, string type) =>
        new(json) { ContentType = "application/json", ContentEncoding = "utf-8", Properties = { ["type"] = type } };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_hub is not { } hub)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, _time, stoppingToken).ConfigureAwait(false);
                Send(hub, Message(HealthJson.Serialize(_collector.Collect()), "health"));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Telemetry is best effort; the twin and MQTT still carry the health. Try again next interval.
                Log.HealthPassFailed(_logger, e);
            }
        }
    }

    private void OnEvent(object? sender, AgentEvent e)
    {
        if (_hub is { } hub && SentKinds.Contains(e.Kind))
        {
            Send(hub, Message(HealthJson.Serialize(e), "event"));
        }
    }

    /// <summary>Queues the message and does not wait for the hub: the client keeps it through an outage, within its bound.</summary>
    private void Send(IIoTHubClient hub, IoTHubMessage message) =>
        _ = (hub.Identity?.IsModule == true ? hub.SendOutputAsync(ModuleEndpoints.EventsOutput, message, CancellationToken.None) : hub.SendEventAsync(message, CancellationToken.None)).ContinueWith(t =>
        {
            var ok = t.IsCompletedSuccessfully && t.Result.Succeeded;
            _metrics.Reported(HealthMetrics.Telemetry, ok);
            if (!ok)
            {
                Log.TelemetryFailed(_logger, t.IsCompletedSuccessfully ? t.Result.Error.ToString() : "Faulted",
                    t.IsCompletedSuccessfully ? t.Result.Message : t.Exception?.GetBaseException().Message);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
