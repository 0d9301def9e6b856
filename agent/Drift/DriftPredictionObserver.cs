namespace EdgeMl.Agent.Drift;

/// <summary>Feeds every answered prediction's tensors to the drift monitor of the version that served it.</summary>
internal sealed class DriftPredictionObserver(DriftRegistry registry) : IPredictionObserver
{
    public void Observe(in Prediction prediction)
    {
        if (prediction.Result.IsSuccess)
        {
            registry.Observe(prediction.Model, prediction.Result.Version, prediction.Request.Inputs, prediction.Result.Outputs);
        }
    }
}
