using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Keeps the twin's <c>health</c> reported property current, coalesced: at most one patch per
/// <see cref="DesiredState.HealthReportInterval"/>, only when the document changed by <see cref="HealthJson.Fingerprint"/>,
/// and once more after every reconnect (the hub may have missed the last one). Does nothing without an IoT Hub client.
/// </summary>
internal sealed class TwinHealthReporter : BackgroundService
{
    private readonly HealthCollector _collector;
    private readonly IIoTHubClient? _hub;
    private readonly DesiredStateSource? _desired;
    private readonly HealthMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HealthSignal _signal = new();
    private volatile bool _resend;
    private DateTimeOffset? _lastSent;
    private string? _lastFingerprint;

    public TwinHealthReporter(HealthCollector collector, HealthMetrics metrics, TimeProvider time, ILogger<TwinHealthReporter> logger, IServiceProvider services)
    {
        _collector = collector;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _hub = services.GetService<IIoTHubClient>();
        _desired = services.GetService<DesiredStateSource>();
    }

    private TimeSpan Interval => _desired?.Current.State.HealthReportInterval ?? DesiredState.Empty.HealthReportInterval;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_hub is not { } hub)
        {
            return;
        }

        _collector.Changed += OnChanged;
        hub.ConnectionStateChanged += OnConnection;
        try
        {
            var first = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (!first)
                    {
                        // Woken by a change or a reconnect; a change that raises no event still shows within an interval.
                        await _signal.WaitAsync(Interval, _time, stoppingToken).ConfigureAwait(false);
                    }

                    first = false;
                    if (_lastSent is { } last && last + Interval - _time.GetUtcNow() is { Ticks: > 0 } due)
                    {
                        // Coalescing: whatever else changes meanwhile rides along in this one patch.
                        await Task.Delay(due, _time, stoppingToken).ConfigureAwait(false);
                    }

                    await ReportOnceAsync(hub, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Reporting must never take the agent down; the next interval tries again with a fresh document.
                    Log.HealthPassFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _collector.Changed -= OnChanged;
            hub.ConnectionStateChanged -= OnConnection;
        }
    }

    private async Task ReportOnceAsync(IIoTHubClient hub, CancellationToken cancellationToken)
    {
        if (hub.State != IoTHubConnectionState.Connected)
        {
            return;
        }

        var twin = HealthJson.ToTwin(_collector.Collect());
        var fingerprint = HealthJson.Fingerprint(twin);
        var resend = _resend;
        if (fingerprint == _lastFingerprint && !resend)
        {
            return;
        }

        _resend = false;
        var result = await hub.UpdateReportedPropertiesAsync(new JsonObject { ["health"] = twin }, cancellationToken).ConfigureAwait(false);
        _lastSent = _time.GetUtcNow();
        _metrics.Reported(HealthMetrics.Twin, result.Succeeded);
        if (result.Succeeded)
        {
            _lastFingerprint = fingerprint;
            Log.HealthReported(_logger, TwinLimits.Size(twin));
        }
        else
        {
            _resend |= resend;
            Log.HealthReportFailed(_logger, result.Error.ToString(), result.Status, result.Message, Interval);
        }
    }

    private void OnChanged(object? sender, EventArgs e) => _signal.Set();

    private void OnConnection(object? sender, IoTHubConnectionStateChangedEventArgs e)
    {
        if (e.State == IoTHubConnectionState.Connected)
        {
            _resend = true;
        }

        _signal.Set();
    }
}
