using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Feeds the MQTT health publisher: the document when it changes (debounced, so a burst of changes is one
/// publish) and at least every <see cref="MqttHealthOptions.HealthInterval"/> with fresh numbers; every agent event
/// as <c>{at, kind, model, version, message}</c>. Does nothing when MQTT health is not registered.
/// </summary>
internal sealed class MqttHealthReporter : BackgroundService
{
    /// <summary>How long a change waits for the ones that usually follow it (an activation brings sync and event changes).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromSeconds(1);

    private readonly HealthCollector _collector;
    private readonly HealthMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IHealthPublisher? _publisher;
    private readonly AgentEventLog? _events;
    private readonly TimeSpan _interval;
    private readonly HealthSignal _signal = new();

    public MqttHealthReporter(HealthCollector collector, HealthMetrics metrics, TimeProvider time, ILogger<MqttHealthReporter> logger, IServiceProvider services)
    {
        _collector = collector;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _publisher = services.GetService<IHealthPublisher>();
        _events = services.GetService<AgentEventLog>();
        _interval = services.GetService<IOptions<MqttHealthOptions>>()?.Value.HealthInterval ?? TimeSpan.FromSeconds(60);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_publisher is not null && _events is not null)
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_publisher is not { } publisher)
        {
            return;
        }

        _collector.Changed += OnChanged;
        try
        {
            string? last = null;
            var changed = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var health = _collector.Collect();
                    var fingerprint = HealthJson.Fingerprint(HealthJson.ToTwin(health));
                    if (!changed || fingerprint != last)
                    {
                        publisher.PublishHealth(HealthJson.Serialize(health));
                        _metrics.Reported(HealthMetrics.Mqtt, succeeded: true);
                        last = fingerprint;
                    }

                    changed = await _signal.WaitAsync(_interval, _time, stoppingToken).ConfigureAwait(false);
                    if (changed)
                    {
                        await Task.Delay(Debounce, _time, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The publisher keeps the last document; a failed pass only delays the next one by an interval.
                    Log.HealthPassFailed(_logger, e);
                    changed = await _signal.WaitAsync(_interval, _time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _collector.Changed -= OnChanged;
        }
    }

    private void OnChanged(object? sender, EventArgs e) => _signal.Set();

    private void OnEvent(object? sender, AgentEvent e) => _publisher?.PublishEvent(HealthJson.Serialize(e));
}
