using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Health;

/// <summary>Health reporting instruments, meter <c>EdgeMl.Health</c>.</summary>
internal sealed class HealthMetrics
{
    public const string MeterName = "EdgeMl.Health";
    public const string Twin = "twin";
    public const string Mqtt = "mqtt";
    public const string Telemetry = "telemetry";

    private readonly Counter<long> _reports;
    private readonly Counter<long> _methods;

    public HealthMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _reports = meter.CreateCounter<long>("edgeml.health.reports", "{report}", "Health documents sent, by sink and outcome");
        _methods = meter.CreateCounter<long>("edgeml.health.methods", "{call}", "Direct method calls answered, by method and status");
    }

    public void Reported(string sink, bool succeeded) =>
        _reports.Add(1, new KeyValuePair<string, object?>("sink", sink), new KeyValuePair<string, object?>("outcome", succeeded ? "sent" : "failed"));

    public void MethodAnswered(string method, int status) =>
        _methods.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("status", status));
}
