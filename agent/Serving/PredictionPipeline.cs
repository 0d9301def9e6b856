using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Serving;

/// <summary>
/// The one way every front door (HTTP, the edgeHub input, GPIO triggers) runs a prediction: the engine, then each
/// <see cref="IPredictionObserver"/> (drift, capture, GPIO), none of which can block or fail the answer.
/// </summary>
internal sealed class PredictionPipeline(InferenceEngine engine, TimeProvider time, IEnumerable<IPredictionObserver> observers)
{
    private readonly IPredictionObserver[] _observers = [.. observers];

    public InferenceEngine Engine => engine;

    public async ValueTask<InferenceResult> InferAsync(string model, InferenceRequest request, long? version, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var result = await engine.InferAsync(model, request, version, cancellationToken).ConfigureAwait(false);
        if (_observers.Length > 0)
        {
            var prediction = new Prediction(model, request, result, time.GetElapsedTime(started));
            foreach (var observer in _observers)
            {
                observer.Observe(prediction);
            }
        }

        return result;
    }
}
