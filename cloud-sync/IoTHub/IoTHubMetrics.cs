using System.Diagnostics.Metrics;

namespace EdgeMl.CloudSync.IoTHub;

internal sealed class IoTHubMetrics
{
    public const string MeterName = "EdgeMl.CloudSync.IoTHub";

    public IoTHubMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Connects = meter.CreateCounter<long>("edgeml.iothub.connects", description: "Successful connections (first and re-connects).");
        ConnectFailures = meter.CreateCounter<long>("edgeml.iothub.connect_failures", description: "Failed connection attempts.");
        TelemetrySent = meter.CreateCounter<long>("edgeml.iothub.telemetry.sent", description: "Messages acknowledged by the hub.");
        TelemetryDropped = meter.CreateCounter<long>("edgeml.iothub.telemetry.dropped", description: "Messages dropped from the full outgoing queue.");
        IncomingRejected = meter.CreateCounter<long>("edgeml.iothub.incoming.rejected", description: "Incoming messages that could not be read.");
        MethodCalls = meter.CreateCounter<long>("edgeml.iothub.method.calls", description: "Direct method calls answered, by status.");
    }

    public Counter<long> Connects { get; }

    public Counter<long> ConnectFailures { get; }

    public Counter<long> TelemetrySent { get; }

    public Counter<long> TelemetryDropped { get; }

    public Counter<long> IncomingRejected { get; }

    public Counter<long> MethodCalls { get; }
}
