using System.Collections.Concurrent;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>
/// The most recent request the agent served for each model a GPIO trigger runs; a trigger re-runs it. Only models
/// named by a trigger are kept, so the serving path pays nothing for the others. Requests borrow their data, so
/// what is kept is a copy.
/// </summary>
internal sealed class LatestSampleCache : IPredictionObserver
{
    private readonly ConcurrentDictionary<string, InferenceRequest> _latest = new(StringComparer.Ordinal);
    private readonly HashSet<string> _models;

    public LatestSampleCache(IOptions<GpioOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _models = options.Value.Triggers.Where(t => t.Action == GpioAction.Infer && t.Model is not null)
            .Select(t => t.Model!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Call after each request the agent serves (HTTP, edgeHub input); cheap for models no trigger runs.</summary>
    public void Remember(string model, InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        if (_models.Contains(model))
        {
            _latest[model] = Copy(request);
        }
    }

    public void Observe(in Prediction prediction)
    {
        if (prediction.Result.IsSuccess)
        {
            Remember(prediction.Model, prediction.Request);
        }
    }

    public bool TryGet(string model, out InferenceRequest request) => _latest.TryGetValue(model, out request!);

    private static InferenceRequest Copy(InferenceRequest request) =>
        new(request.Inputs.Select(t => t.DataType == TensorDataType.Bytes
            ? InferenceTensor.FromElements(t.Name, [.. t.Shape], t.Elements.Select(e => (ReadOnlyMemory<byte>)e.ToArray()).ToArray())
            : InferenceTensor.FromBytes(t.Name, t.DataType, [.. t.Shape], t.Data.ToArray())).ToArray(), [.. request.Outputs]);
}
