using System.Globalization;

namespace EdgeMl.Runtime.Providers;

/// <summary>One native library an accelerator needs, and whether the loader finds it here.</summary>
/// <param name="Detail">The loader's reason when it is not found.</param>
public sealed record LibraryProbe(string Name, bool Found, string? Detail);

/// <summary>What this device offers for inference, as found at start: facts, never failures.</summary>
/// <param name="OnnxRuntimeVersion">The version of the ONNX Runtime this build loaded.</param>
/// <param name="Flavour">Which ONNX Runtime package the build carries: cpu, gpu or system.</param>
/// <param name="NativeLibrary">Where the native ONNX Runtime library was loaded from, when known.</param>
/// <param name="Providers">The execution providers the build offers, by their EdgeMl names.</param>
/// <param name="Libraries">Each accelerator library family and whether the loader finds it.</param>
/// <param name="Cuda">What the CUDA driver says.</param>
/// <param name="TensorRtVersion">TensorRT's version when its library loads.</param>
public sealed record AcceleratorReport(
    string OnnxRuntimeVersion,
    string Flavour,
    string? NativeLibrary,
    IReadOnlyList<string> Providers,
    IReadOnlyList<LibraryProbe> Libraries,
    CudaDriverState Cuda,
    string? TensorRtVersion);

/// <summary>
/// The accelerator self-check: the ONNX Runtime build (version, flavour, providers), the CUDA, cuBLAS, cuDNN and
/// TensorRT libraries the loader finds, and what the CUDA driver says (version, GPUs, memory). Every probe is a
/// <see cref="System.Runtime.InteropServices.NativeLibrary"/> load or a driver call; nothing is spawned. Absent hardware
/// is reported as absent.
/// </summary>
public static class AcceleratorCheck
{
    /// <summary>Each family of libraries, with the sonames tried when the build's providers do not name the one they need.</summary>
    private static readonly (string Family, string[] Candidates)[] Families =
    [
        ("libcuda.so", [CudaDriver.Library]),
        ("libcudart.so", ["libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"]),
        ("libcublasLt.so", ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"]),
        ("libcudnn.so", ["libcudnn.so.9", "libcudnn.so.8"]),
        ("libnvinfer.so", ["libnvinfer.so.10", "libnvinfer.so.8"]),
    ];

    /// <summary>Probes this device now; never throws for absent hardware or libraries.</summary>
    public static AcceleratorReport Run()
    {
        var needed = new[] { ProviderNames.Cuda, ProviderNames.TensorRt }
            .Select(OnnxRuntimeBuild.ProviderLibraryPath).OfType<string>()
            .SelectMany(NativeLibraries.Needed).Distinct(StringComparer.Ordinal).ToArray();
        var libraries = Families.Select(f => Probe(f.Family, f.Candidates, needed)).ToArray();
        return new AcceleratorReport(
            OnnxRuntimeBuild.Version,
            OnnxRuntimeBuild.Flavour,
            OnnxRuntimeBuild.NativeLibraryPath,
            OnnxRuntimeBuild.Providers.Select(ProviderNames.FromOnnxName).ToArray(),
            libraries,
            CudaDriver.State,
            libraries.Any(l => l.Found && l.Name.StartsWith("libnvinfer.so", StringComparison.Ordinal)) ? TensorRtVersion(NativeGpuInfo.Instance.TensorRtVersion) : null);
    }

    /// <summary>The soname this build's providers need (the one that matters), else the first candidate that loads, else the first tried.</summary>
    internal static LibraryProbe Probe(string family, IReadOnlyList<string> candidates, IReadOnlyList<string> needed)
    {
        var tried = needed.FirstOrDefault(n => n.StartsWith(family + ".", StringComparison.Ordinal)) is { } exact ? [exact] : candidates;
        string? firstError = null;
        foreach (var name in tried)
        {
            if (NativeLibraries.TryLoad(name, out var error))
            {
                return new LibraryProbe(name, true, null);
            }

            firstError ??= error;
        }

        return new LibraryProbe(tried[0], false, tried.Count > 1 ? $"{firstError} (also tried {string.Join(", ", tried.Skip(1))})" : firstError);
    }

    /// <summary>TensorRT's <c>getInferLibVersion</c> number as a version: 100300 is 10.3.0 (TensorRT 10), 8601 is 8.6.1 (TensorRT 8).</summary>
    internal static string? TensorRtVersion(string? number)
    {
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        {
            return number;
        }

        return v >= 10000
            ? string.Create(CultureInfo.InvariantCulture, $"{v / 10000}.{v / 100 % 100}.{v % 100}")
            : string.Create(CultureInfo.InvariantCulture, $"{v / 1000}.{v / 100 % 10}.{v % 100}");
    }
}
