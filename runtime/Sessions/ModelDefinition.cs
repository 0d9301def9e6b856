using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Runtime.Validation;

namespace EdgeMl.Runtime.Sessions;

/// <summary>Everything needed to load, check and serve one version of a model.</summary>
public sealed class ModelDefinition
{
    public required string Name { get; init; }

    public required long Version { get; init; }

    /// <summary>The ONNX file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>The signature the package declares; a loaded model that differs is refused.</summary>
    public ModelSignature? DeclaredSignature { get; init; }

    public ModelSessionOptions Session { get; init; } = new();

    public ProviderChainOptions Providers { get; init; } = ProviderChainOptions.CpuOnly;

    public WarmUpOptions WarmUp { get; init; } = new();

    public IReadOnlyList<GoldenSample> Golden { get; init; } = [];

    public ServingOptions Serving { get; init; } = new();

    /// <summary>State carried between the calls of a sequence (the manifest's <c>states</c>); empty for a stateless model.</summary>
    public IReadOnlyList<StatePair> States { get; init; } = [];

    public override string ToString() => $"{Name} v{Version}";

    /// <summary>The same model and settings on another provider chain.</summary>
    internal ModelDefinition WithProviders(ProviderChainOptions providers) => new()
    {
        Name = Name,
        Version = Version,
        ModelPath = ModelPath,
        DeclaredSignature = DeclaredSignature,
        Session = Session,
        Providers = providers,
        WarmUp = WarmUp,
        Golden = Golden,
        Serving = Serving,
    };
}

public enum OptimizationLevel
{
    Disabled,
    Basic,
    Extended,
    All,
}

/// <summary>ONNX Runtime session settings of one model.</summary>
public sealed class ModelSessionOptions
{
    /// <summary>Threads within one operator; 0 lets ONNX Runtime choose (one per core).</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>Threads across operators, used when <see cref="ParallelExecution"/> is on; 0 lets ONNX Runtime choose.</summary>
    [Range(0, 256)]
    public int InterOpThreads { get; set; }

    public bool ParallelExecution { get; set; }

    public OptimizationLevel Optimization { get; set; } = OptimizationLevel.All;

    /// <summary>
    /// A folder where the optimized graph is saved on first load and read back on later loads, keyed by model
    /// hash, providers and ONNX Runtime version. Null disables the cache.
    /// </summary>
    public string? OptimizedModelCache { get; set; }

    /// <summary>Profile the first warm-up run to report which provider ran how many nodes.</summary>
    public bool ReportNodePlacement { get; set; } = true;
}

/// <summary>Runs before a model is declared ready, so the first real request does not pay for lazy set-up.</summary>
public sealed class WarmUpOptions
{
    [Range(0, 1000)]
    public int Runs { get; set; } = 1;

    /// <summary>Inputs to warm up on; when empty, zeros shaped from the signature.</summary>
    public IReadOnlyList<InferenceTensor> Inputs { get; init; } = [];

    /// <summary>The key of <see cref="Shapes"/> whose shape applies to every input not named there.</summary>
    public const string AnyInput = "*";

    /// <summary>
    /// Concrete shapes for inputs with dynamic dimensions, by input name or <see cref="AnyInput"/>; dynamic
    /// dimensions not given here become 1.
    /// </summary>
    public IDictionary<string, long[]> Shapes { get; init; } = new Dictionary<string, long[]>(StringComparer.Ordinal);
}

/// <summary>Inputs that must produce the expected outputs within |actual − expected| ≤ absolute + relative·|expected|.</summary>
public sealed record GoldenSample(IReadOnlyList<InferenceTensor> Inputs, IReadOnlyList<InferenceTensor> ExpectedOutputs)
{
    public double AbsoluteTolerance { get; init; } = 1e-4;

    public double RelativeTolerance { get; init; } = 1e-3;
}

/// <summary>How requests reach a loaded model.</summary>
public sealed class ServingOptions
{
    /// <summary>Requests (or batches) running on the session at once.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Requests waiting for a turn beyond <see cref="MaxConcurrency"/>; one more is answered "overloaded" at once.</summary>
    [Range(0, 100_000)]
    public int MaxQueue { get; set; } = 256;

    /// <summary>The most input data one request may carry.</summary>
    [Range(1, long.MaxValue)]
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    public BatchingOptions Batching { get; set; } = new();
}

/// <summary>Dynamic batching: requests queued up to a size or a delay, run as one batch and split back.</summary>
public sealed class BatchingOptions
{
    public bool Enabled { get; set; }

    /// <summary>
    /// Measure instead of being told: batched and unbatched serving take turns on the live traffic now and then and
    /// the faster serves (<see cref="Serving.BatchingChoice"/> in the model's status says which and why);
    /// <see cref="Enabled"/> is then not read.
    /// </summary>
    public bool Auto { get; set; }

    /// <summary>Predictions per measured window of <see cref="Auto"/>.</summary>
    internal int AutoWindow { get; set; } = 256;

    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>How long the first request of a batch waits for others.</summary>
    [TimeSpanRange("00:00:00", "00:00:01")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);
}
