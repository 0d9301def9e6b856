using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Serving;

/// <summary>
/// The one way every front door (HTTP, the edgeHub input, GPIO triggers) runs a prediction: the engine, then the
/// drift monitor and the capture hand-off, neither of which can block or fail the answer.
/// </summary>
internal sealed class PredictionPipeline(InferenceEngine engine, TimeProvider time, CaptureRecorder? capture = null, DriftRegistry? drift = null)
{
    /// <summary>Called with every request that produced an answer (GPIO triggers replay the latest one).</summary>
    public event Action<string, InferenceRequest>? Served;

    public InferenceEngine Engine => engine;

    public async ValueTask<InferenceResult> InferAsync(string model, InferenceRequest request, long? version, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var result = await engine.InferAsync(model, request, version, cancellationToken).ConfigureAwait(false);
        if (result.IsSuccess)
        {
            drift?.Observe(model, result.Version, request.Inputs, result.Outputs);
            Served?.Invoke(model, request);
        }

        if (capture is not null && result.Error?.Kind is not (InferenceErrorKind.ModelNotFound or InferenceErrorKind.Canceled))
        {
            using var handOff = EdgeMlTracing.Source.StartActivity("capture.handoff");
            capture.Capture(request, result, time.GetElapsedTime(started), engine.EffectiveProvider(model) ?? "none");
        }

        return result;
    }
}
