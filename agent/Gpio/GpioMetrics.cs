using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Gpio;

/// <summary>GPIO instruments: edges seen on trigger pins, and the inferences they ran.</summary>
internal sealed class GpioMetrics
{
    public const string MeterName = "EdgeMl.Gpio";

    public GpioMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Edges = meter.CreateCounter<long>("edgeml.gpio.edges", "{edge}", "Edges on trigger pins, by pin and outcome (accepted, debounced, dropped)");
        Inferences = meter.CreateCounter<long>("edgeml.gpio.inferences", "{inference}", "Inferences run by GPIO triggers, by model and outcome (success, failed, no_sample)");
    }

    public Counter<long> Edges { get; }

    public Counter<long> Inferences { get; }

    public void Edge(int pin, string outcome) =>
        Edges.Add(1, new KeyValuePair<string, object?>("pin", pin), new KeyValuePair<string, object?>("outcome", outcome));

    public void Inference(string model, string outcome) =>
        Inferences.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("outcome", outcome));
}
