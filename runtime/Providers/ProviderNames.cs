namespace EdgeMl.Runtime.Providers;

/// <summary>Our short provider names and the names ONNX Runtime reports for them.</summary>
public static class ProviderNames
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
    public const string TensorRt = "tensorrt";
    public const string OpenVino = "openvino";
    public const string VitisAi = "vitisai";

    private static readonly Dictionary<string, string> OnnxNames = new(StringComparer.OrdinalIgnoreCase)
    {
        [Cpu] = "CPUExecutionProvider",
        [Cuda] = "CUDAExecutionProvider",
        [TensorRt] = "TensorrtExecutionProvider",
        [OpenVino] = "OpenVINOExecutionProvider",
        [VitisAi] = "VitisAIExecutionProvider",
    };

    public static IReadOnlyCollection<string> Known => OnnxNames.Keys;

    public static bool IsKnown(string name) => OnnxNames.ContainsKey(name);

    /// <summary>The ONNX Runtime name, such as <c>CUDAExecutionProvider</c>.</summary>
    public static string ToOnnxName(string name) =>
        OnnxNames.TryGetValue(name, out var onnx) ? onnx : throw new ArgumentException($"unknown execution provider '{name}'; known: {string.Join(", ", Known)}", nameof(name));

    /// <summary>Our short name for an ONNX Runtime provider name; the name itself when it is not one of ours.</summary>
    public static string FromOnnxName(string onnxName)
    {
        foreach (var (shortName, onnx) in OnnxNames)
        {
            if (string.Equals(onnx, onnxName, StringComparison.Ordinal))
            {
                return shortName;
            }
        }

        return onnxName;
    }
}
