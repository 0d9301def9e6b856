namespace EdgeMl.Runtime.Tensors;

/// <summary>Inputs for one prediction, and optionally which outputs to return (all when empty).</summary>
public sealed class InferenceRequest(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs = null)
{
    public IReadOnlyList<InferenceTensor> Inputs { get; } = inputs ?? throw new ArgumentNullException(nameof(inputs));

    public IReadOnlyList<string> Outputs { get; } = outputs ?? [];
}

/// <summary>The outputs of a prediction and the model version that made it, or the reason there are none.</summary>
/// <remarks>
/// Large outputs of the engine lie in pooled buffers. A front door disposes the result once the answer is written, which
/// gives them back; anything that keeps an output beyond that keeps <see cref="InferenceTensor.Detach"/>. A result that is
/// never disposed is safe: its buffers are then left to the garbage collector.
/// </remarks>
public sealed class InferenceResult : IDisposable
{
    private InferenceResult(string model, long version, IReadOnlyList<InferenceTensor> outputs, InferenceError? error)
    {
        Model = model;
        Version = version;
        Outputs = outputs;
        Error = error;
    }

    public string Model { get; }

    /// <summary>The version that answered; 0 when none did.</summary>
    public long Version { get; }

    public IReadOnlyList<InferenceTensor> Outputs { get; }

    public InferenceError? Error { get; }

    public bool IsSuccess => Error is null;

    public static InferenceResult Success(string model, long version, IReadOnlyList<InferenceTensor> outputs) =>
        new(model, version, outputs, null);

    public static InferenceResult Failure(string model, long version, InferenceError error) =>
        new(model, version, [], error);

    public InferenceTensor Output(string name) =>
        Outputs.FirstOrDefault(o => o.Name == name) ?? throw new KeyNotFoundException($"No output '{name}' in the result.");

    /// <summary>Gives the outputs' pooled buffers back; the outputs that lay in them cannot be read afterwards.</summary>
    public void Dispose()
    {
        for (var i = 0; i < Outputs.Count; i++)
        {
            Outputs[i].Return();
        }
    }
}
