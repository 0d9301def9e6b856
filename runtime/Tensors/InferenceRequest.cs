namespace EdgeMl.Runtime.Tensors;

/// <summary>Inputs for one prediction, and optionally which outputs to return (all when empty).</summary>
public sealed class InferenceRequest(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs = null)
{
    public IReadOnlyList<InferenceTensor> Inputs { get; } = inputs ?? throw new ArgumentNullException(nameof(inputs));

    public IReadOnlyList<string> Outputs { get; } = outputs ?? [];
}

/// <summary>The outputs of a prediction and the model version that made it, or the reason there are none.</summary>
public sealed class InferenceResult
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
}
