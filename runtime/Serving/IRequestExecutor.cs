using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Serving;

/// <summary>Runs validated requests on one session: directly under a concurrency limit, or in dynamic batches.</summary>
internal interface IRequestExecutor : IDisposable
{
    /// <returns>The outputs, or the reason there are none (overloaded, cancelled, runtime failure).</returns>
    ValueTask<(InferenceTensor[]? Outputs, InferenceError? Error)> ExecuteAsync(InferenceRequest request, CancellationToken cancellationToken);
}
