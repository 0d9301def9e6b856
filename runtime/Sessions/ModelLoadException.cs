namespace EdgeMl.Runtime.Sessions;

/// <summary>Where loading a model version stopped.</summary>
public enum ModelLoadStage
{
    /// <summary>The provider chain could not be satisfied under its policy.</summary>
    Providers,

    /// <summary>ONNX Runtime could not create a session from the model file.</summary>
    Session,

    /// <summary>The model's inputs or outputs differ from what its package declares, or cannot be served.</summary>
    Signature,

    /// <summary>A warm-up run failed.</summary>
    WarmUp,

    /// <summary>A golden sample did not produce its expected outputs.</summary>
    GoldenCheck,
}

/// <summary>A model version could not be made ready; the reason names the stage and what went wrong.</summary>
public sealed class ModelLoadException(ModelLoadStage stage, string message, Exception? inner = null)
    : Exception($"{stage}: {message}", inner)
{
    public ModelLoadStage Stage { get; } = stage;

    public string Reason { get; } = message;
}
