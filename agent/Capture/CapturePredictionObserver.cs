using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Capture;

/// <summary>Offers each prediction to capture, failures too, except for models that do not exist and cancelled calls.</summary>
internal sealed class CapturePredictionObserver(CaptureRecorder recorder, InferenceEngine engine) : IPredictionObserver
{
    public void Observe(in Prediction prediction)
    {
        if (prediction.Result.Error?.Kind is not (InferenceErrorKind.ModelNotFound or InferenceErrorKind.Canceled))
        {
            using var handOff = EdgeMlTracing.Source.StartActivity("capture.handoff");
            recorder.Capture(prediction.Request, prediction.Result, prediction.Elapsed, engine.EffectiveProvider(prediction.Model) ?? "none");
        }
    }
}
