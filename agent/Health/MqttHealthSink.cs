using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Health;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Health to the MQTT publisher (retained): when it changes, debounced so a burst of changes is one publish, and at
/// least every <see cref="MqttHealthOptions.HealthInterval"/> with fresh numbers; every agent event as
/// <c>{at, kind, model, version, message}</c>.
/// </summary>
internal sealed class MqttHealthSink(IHealthPublisher publisher, IOptions<MqttHealthOptions> options, HealthMetrics metrics) : IHealthSink
{
    public HealthSchedule Schedule { get; } = new(options.Value.HealthInterval, HealthOnChange.Debounce, RepeatOnInterval: true);

    public Task<bool> SendAsync(AgentHealth health, CancellationToken cancellationToken)
    {
        // The publisher keeps the last document and publishes it on (re)connect.
        publisher.PublishHealth(HealthJson.Serialize(health));
        metrics.Reported(HealthMetrics.Mqtt, succeeded: true);
        return Task.FromResult(true);
    }

    public void Send(AgentEvent e) => publisher.PublishEvent(HealthJson.Serialize(e));
}
