using Microsoft.Extensions.Logging;

namespace EdgeMl.CloudSync;

/// <summary>MQTT health events, ids 3200–3299.</summary>
internal static partial class Log
{
    [LoggerMessage(3200, LogLevel.Information, "Health broker {Broker} connected; status online")]
    public static partial void BrokerConnected(ILogger logger, string broker);

    [LoggerMessage(3201, LogLevel.Warning, "Health broker {Broker} is unreachable ({Reason}); retrying in {Delay}")]
    public static partial void BrokerUnreachable(ILogger logger, string broker, string reason, TimeSpan delay);

    [LoggerMessage(3202, LogLevel.Warning, "Health event queue is full; dropped the oldest event ({Dropped} dropped so far)")]
    public static partial void HealthEventDropped(ILogger logger, long dropped);

    [LoggerMessage(3203, LogLevel.Information, "Embedded MQTT broker listening on 127.0.0.1:{Port}")]
    public static partial void EmbeddedBrokerStarted(ILogger logger, int port);
}
