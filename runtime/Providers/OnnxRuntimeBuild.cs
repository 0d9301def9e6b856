using System.Reflection;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Providers;

/// <summary>The ONNX Runtime this process runs: its version, the flavour it was built with, where its native library is and which providers it offers.</summary>
internal static class OnnxRuntimeBuild
{
    private static readonly Lazy<string?> NativeLibrary = new(FindNativeLibrary);

    /// <summary><c>cpu</c>, <c>gpu</c> or <c>system</c>: the <c>OnnxRuntimeFlavor</c> the runtime was built with.</summary>
    public static string Flavour { get; } =
        typeof(OnnxRuntimeBuild).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "OnnxRuntimeFlavor")?.Value ?? "unknown";

    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>ONNX Runtime's names of the providers in this build, such as <c>CUDAExecutionProvider</c>.</summary>
    public static IReadOnlyList<string> Providers => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>The <c>libonnxruntime.so</c> the process loaded (the package's or, for the system flavour, the device's); null when unknown.</summary>
    public static string? NativeLibraryPath => NativeLibrary.Value;

    /// <summary>
    /// The shared library that holds a provider, which ONNX Runtime loads from beside <c>libonnxruntime.so</c> when the
    /// provider is first appended; null for providers built into the core library, or when it is not there.
    /// </summary>
    public static string? ProviderLibraryPath(string provider)
    {
        if (provider == ProviderNames.Cpu || NativeLibraryPath is not { } core)
        {
            return null;
        }

        var path = Path.Combine(Path.GetDirectoryName(core)!, $"libonnxruntime_providers_{provider}.so");
        return File.Exists(path) ? path : null;
    }

    private static string? FindNativeLibrary()
    {
        _ = OrtEnv.Instance();
        try
        {
            // The loader's own record of what it mapped: right whichever search path found the library.
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash > 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
                {
                    return line[slash..];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or /proc is not mounted: the provider libraries are then not probed, only reported by ONNX Runtime.
        }

        return null;
    }
}
