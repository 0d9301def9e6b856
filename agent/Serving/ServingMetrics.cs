using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Serving;

/// <summary>Readiness and the stop's drain, meter <c>EdgeMl.Serving</c>: what a scraper sees while the agent starts and stops.</summary>
internal sealed class ServingMetrics
{
    public const string MeterName = "EdgeMl.Serving";

    private readonly Counter<long> _refused;

    public ServingMetrics(IMeterFactory meterFactory, ServingReadiness readiness, ShutdownDrain drain)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("edgeml.serving.ready", () => readiness.Server().IsReady ? 1 : 0, "{ready}", "1 when the server should be sent traffic (/v2/health/ready answers 200)");
        meter.CreateObservableGauge("edgeml.serving.in_flight", () => drain.InFlight, "{request}", "HTTP API requests being answered (health probes and /metrics not counted)");
        _refused = meter.CreateCounter<long>("edgeml.serving.refused", "{request}", "HTTP API requests answered 503 because the agent is shutting down");
    }

    public void Refused() => _refused.Add(1);
}
