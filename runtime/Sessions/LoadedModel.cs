using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Sessions;

/// <summary>A model version that passed load, warm-up and golden check, ready to be swapped in.</summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(ModelSession session, TimeSpan loadTime, TimeSpan warmUpTime)
    {
        Session = session;
        LoadTime = loadTime;
        WarmUpTime = warmUpTime;
    }

    public string Name => Session.Definition.Name;

    public long Version => Session.Definition.Version;

    public ModelSignature Signature => Session.Signature;

    public ProviderReport Providers => Session.Providers;

    public TimeSpan LoadTime { get; }

    public TimeSpan WarmUpTime { get; }

    internal ModelSession Session { get; }

    /// <summary>Runs the model outside the engine (a shadow beside the active version): no batching, no slot.</summary>
    /// <param name="inputs">Inputs already validated against <see cref="Signature"/>; borrowed for the call, not copied.</param>
    /// <param name="outputs">The outputs to return by name; empty returns them all.</param>
    /// <exception cref="Microsoft.ML.OnnxRuntime.OnnxRuntimeException">ONNX Runtime failed.</exception>
    public InferenceTensor[] Run(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputs) => Session.Run(inputs, outputs);

    public void Dispose() => Session.Dispose();
}
