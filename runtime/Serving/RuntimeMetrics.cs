using System.Diagnostics.Metrics;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// The runtime's instruments, meter <c>EdgeMl.Runtime</c>; every one is tagged with the model name, which is only ever
/// a model the engine holds (requests for any other name count under <see cref="UnknownModel"/>).
/// </summary>
public sealed class RuntimeMetrics
{
    public const string MeterName = "EdgeMl.Runtime";

    /// <summary>The <c>model</c> label of requests for a model the engine does not hold.</summary>
    public const string UnknownModel = "unknown";

    public RuntimeMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Requests = meter.CreateCounter<long>("edgeml.inference.requests", "{request}", "Inference requests received");
        Failures = meter.CreateCounter<long>("edgeml.inference.failures", "{request}", "Inference requests not answered, by reason");
        Duration = meter.CreateHistogram<double>("edgeml.inference.duration", "s", "Time from request to answer");
        QueueDepth = meter.CreateUpDownCounter<long>("edgeml.inference.queue_depth", "{request}", "Requests waiting for a session or a batch");
        BatchSize = meter.CreateHistogram<int>("edgeml.inference.batch_size", "{request}", "Requests run together in one batch");
        Swaps = meter.CreateCounter<long>("edgeml.model.swaps", "{activation}", "Model version activations, by outcome");
    }

    internal Counter<long> Requests { get; }

    internal Counter<long> Failures { get; }

    internal Histogram<double> Duration { get; }

    internal UpDownCounter<long> QueueDepth { get; }

    internal Histogram<int> BatchSize { get; }

    internal Counter<long> Swaps { get; }

    internal void Failed(string model, InferenceErrorKind reason) =>
        Failures.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", ReasonTag(reason)));

    internal static string ReasonTag(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidInput => "invalid_input",
        InferenceErrorKind.ModelNotFound => "model_not_found",
        InferenceErrorKind.NotReady => "not_ready",
        InferenceErrorKind.Overloaded => "overloaded",
        InferenceErrorKind.Canceled => "canceled",
        _ => "runtime_failure",
    };
}
