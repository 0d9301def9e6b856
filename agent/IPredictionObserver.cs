using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent;

/// <summary>
/// Sees every prediction a front door ran through the pipeline (HTTP, gRPC, the edgeHub input, GPIO), once the
/// answer is known: drift statistics, capture, the GPIO triggers' latest sample. Runs on the request's path, so it
/// must be cheap, must not block and must not throw. Each feature registers its own with
/// <c>TryAddEnumerable</c>; the pipeline knows none of them.
/// </summary>
internal interface IPredictionObserver
{
    void Observe(in Prediction prediction);
}

/// <summary>One prediction as the pipeline saw it; a struct, so serving allocates nothing more for its observers.</summary>
internal readonly record struct Prediction(string Model, InferenceRequest Request, InferenceResult Result, TimeSpan Elapsed);
