using System.Collections.Concurrent;

namespace EdgeMl.Runtime.Providers;

/// <summary>What stops a provider that is in the build from starting on this device, asked before ONNX Runtime is.</summary>
internal interface IProviderProbe
{
    /// <summary>Null when the provider's native libraries load; otherwise which do not and the loader's reason.</summary>
    string? MissingLibraries(string provider);

    /// <summary>Null when the provider's device is visible (or it has none to look for); otherwise why not.</summary>
    string? MissingDevice(string provider, int deviceId);
}

/// <summary>
/// Asks the loader for the libraries each provider's shared library needs (CUDA 13, cuBLAS, cuDNN, TensorRT…) and the
/// CUDA driver for devices. ONNX Runtime's own error for a provider whose libraries are missing is only "Failed to
/// load shared library"; the operator needs to know which one: the image lacks it, or the GPU was not passed in.
/// </summary>
internal sealed class NativeProviderProbe : IProviderProbe
{
    private readonly ConcurrentDictionary<string, string?> _libraries = new(StringComparer.Ordinal);

    public static NativeProviderProbe Instance { get; } = new();

    public string? MissingLibraries(string provider) => _libraries.GetOrAdd(provider, static p =>
    {
        // Libraries do not appear under a running process: asked once per provider.
        if (OnnxRuntimeBuild.ProviderLibraryPath(p) is not { } path)
        {
            return null;
        }

        var missing = new List<string>();
        string? first = null;
        foreach (var library in NativeLibraries.Needed(path))
        {
            if (!NativeLibraries.TryLoad(library, out var error))
            {
                missing.Add(library);
                first ??= error;
            }
        }

        return missing.Count == 0 ? null : $"{string.Join(", ", missing)} ({first})";
    });

    public string? MissingDevice(string provider, int deviceId) =>
        provider is ProviderNames.Cuda or ProviderNames.TensorRt ? CudaDriver.State.WhyNotVisible(deviceId) : null;
}
