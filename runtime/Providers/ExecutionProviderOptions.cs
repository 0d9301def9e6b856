using System.ComponentModel.DataAnnotations;

namespace EdgeMl.Runtime.Providers;

/// <summary>Whether a model may run on a later provider of its chain when the first is missing.</summary>
public enum ProviderPolicy
{
    /// <summary>Fall back along the chain and report the model as degraded with the reason.</summary>
    Prefer,

    /// <summary>Fail the load loudly when the first provider of the chain is missing.</summary>
    Require,

    /// <summary>
    /// As <see cref="Require"/>, and the first provider must run every node: ONNX Runtime's CPU fallback is disabled
    /// (<c>session.disable_cpu_ep_fallback</c>) and the load is refused, naming the nodes that would fall to the CPU.
    /// </summary>
    Strict,
}

/// <summary>One execution provider of a chain, with its options.</summary>
public sealed class ExecutionProviderOptions
{
    /// <summary><c>cpu</c>, <c>cuda</c>, <c>tensorrt</c>, <c>openvino</c> or <c>vitisai</c>.</summary>
    [Required]
    public string Name { get; set; } = ProviderNames.Cpu;

    /// <summary>GPU ordinal for CUDA and TensorRT.</summary>
    [Range(0, 64)]
    public int DeviceId { get; set; }

    /// <summary>TensorRT: build FP16 engines.</summary>
    public bool Fp16 { get; set; }

    /// <summary>TensorRT: build INT8 engines (needs calibration data in the model or a calibration table).</summary>
    public bool Int8 { get; set; }

    /// <summary>TensorRT: folder for serialized engines; engines are built once and reused on later starts.</summary>
    public string? EngineCachePath { get; set; }

    /// <summary>TensorRT: folder for the layer timing cache, which shortens later engine builds.</summary>
    public string? TimingCachePath { get; set; }

    /// <summary>
    /// TensorRT: a root (under the data folder) holding one cache folder per model hash, TensorRT version and GPU;
    /// fills <see cref="EngineCachePath"/> and <see cref="TimingCachePath"/> when they are not given.
    /// </summary>
    public string? CacheRoot { get; set; }

    /// <summary>TensorRT: the most GPU memory an engine build may use, in bytes.</summary>
    [Range(0, long.MaxValue)]
    public long? MaxWorkspaceBytes { get; set; }

    /// <summary>OpenVINO: the device to run on, such as <c>CPU</c>, <c>GPU</c> or <c>NPU</c>.</summary>
    public string? DeviceType { get; set; }

    /// <summary>Vitis AI: the <c>vaip_config.json</c> of the FPGA overlay.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>Further provider options, passed to ONNX Runtime verbatim under their native keys.</summary>
    public Dictionary<string, string> Settings { get; init; } = new(StringComparer.Ordinal);

    public override string ToString() => Name;
}

/// <summary>An ordered chain of providers and what to do when the first is missing.</summary>
public sealed class ProviderChainOptions
{
    public IList<ExecutionProviderOptions> Providers { get; init; } = [];

    public ProviderPolicy Policy { get; set; } = ProviderPolicy.Prefer;

    /// <summary>
    /// When the chain starts with TensorRT, whose engines take minutes to build on first load, serve on the
    /// rest of the chain meanwhile and swap to TensorRT once its engine is built (policy prefer only).
    /// </summary>
    public bool ServeWhileBuilding { get; set; } = true;

    /// <summary>True when activation should serve on the rest of the chain while the first provider builds.</summary>
    internal bool BuildsInBackground =>
        ServeWhileBuilding && Policy == ProviderPolicy.Prefer && Providers.Count > 1
        && string.Equals(Providers[0].Name, ProviderNames.TensorRt, StringComparison.OrdinalIgnoreCase);

    /// <summary>The chain without its first provider.</summary>
    internal ProviderChainOptions Rest() => new() { Policy = Policy, ServeWhileBuilding = false, Providers = Providers.Skip(1).ToList() };

    public static ProviderChainOptions CpuOnly { get; } = new() { Providers = [new ExecutionProviderOptions()] };

    public static ProviderChainOptions Of(ProviderPolicy policy, params string[] names) =>
        new() { Policy = policy, Providers = names.Select(n => new ExecutionProviderOptions { Name = n }).ToList() };
}
