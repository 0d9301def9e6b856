namespace EdgeMl.CloudSync.Health;

/// <summary>Publishes the agent's health where local tools and fleet dashboards can read it.</summary>
public interface IHealthPublisher
{
    /// <summary>Whether the broker link is up, and if not, why.</summary>
    BrokerLink Link { get; }

    /// <summary>Replaces the health document; it is published (retained) at once when connected, and on reconnect.</summary>
    void PublishHealth(ReadOnlyMemory<byte> json);

    /// <summary>Queues an event (activation, rollback, drift); kept while the broker is away, within a bound.</summary>
    /// <returns>False when the queue was full and the oldest event was dropped to make room.</returns>
    bool PublishEvent(ReadOnlyMemory<byte> json);
}

/// <summary>The state of the broker link.</summary>
public sealed record BrokerLink(bool Connected, string Broker, string? LastError, long DroppedEvents);
