using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace EdgeMl.Runtime.Providers;

/// <summary>What a TensorRT engine depends on besides the model: the TensorRT build and the GPU.</summary>
internal interface IGpuInfo
{
    /// <summary>TensorRT's library version number (<c>getInferLibVersion</c>), or null when TensorRT is not installed.</summary>
    string? TensorRtVersion { get; }

    /// <summary>The GPU's name and compute capability, such as <c>Orin sm87</c>, or null when there is no CUDA device.</summary>
    string? Device(int deviceId);
}

/// <summary>
/// Serialized TensorRT engines and timing caches are only valid for the model, TensorRT version and GPU that built
/// them: a JetPack upgrade or a board swap with an old cache fails or, worse, loads a mismatched engine. With a
/// <see cref="ExecutionProviderOptions.CacheRoot"/>, each provider gets <c>{root}/{key}/engines</c> and
/// <c>{root}/{key}/timing</c> with key <c>{model sha256/16}-trt{version}-{gpu}</c>, so a change of any of the three
/// builds afresh beside the old cache instead of reusing it.
/// </summary>
internal static class TensorRtCache
{
    /// <summary>The chain with cache folders filled in (and created) for TensorRT providers that have a cache root; the same chain when none has.</summary>
    public static ProviderChainOptions Resolve(ProviderChainOptions chain, string modelPath, IGpuInfo gpu)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (!chain.Providers.Any(NeedsFolders))
        {
            return chain;
        }

        var hash = ModelHash(modelPath);
        var providers = chain.Providers.Select(p =>
        {
            if (!NeedsFolders(p))
            {
                return p;
            }

            var folder = Path.Combine(p.CacheRoot!, Key(hash, gpu.TensorRtVersion, gpu.Device(p.DeviceId)));
            var resolved = Copy(p);
            resolved.EngineCachePath ??= Directory.CreateDirectory(Path.Combine(folder, "engines")).FullName;
            resolved.TimingCachePath ??= Directory.CreateDirectory(Path.Combine(folder, "timing")).FullName;
            return resolved;
        }).ToList();
        return new ProviderChainOptions { Policy = chain.Policy, ServeWhileBuilding = chain.ServeWhileBuilding, Providers = providers };
    }

    public static string Key(string modelHash, string? tensorRtVersion, string? device) =>
        $"{modelHash}-trt{tensorRtVersion ?? "unknown"}-{Slug(device ?? "nogpu")}";

    private static bool NeedsFolders(ExecutionProviderOptions p) =>
        p.CacheRoot is { Length: > 0 } && string.Equals(p.Name, ProviderNames.TensorRt, StringComparison.OrdinalIgnoreCase)
        && (p.EngineCachePath is null || p.TimingCachePath is null);

    private static string ModelHash(string modelPath)
    {
        using var file = File.OpenRead(modelPath);
        return Convert.ToHexStringLower(SHA256.HashData(file))[..16];
    }

    private static string Slug(string text)
    {
        var slug = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        return slug.ToString().Trim('-');
    }

    private static ExecutionProviderOptions Copy(ExecutionProviderOptions p)
    {
        var copy = new ExecutionProviderOptions
        {
            Name = p.Name, DeviceId = p.DeviceId, Fp16 = p.Fp16, Int8 = p.Int8, EngineCachePath = p.EngineCachePath, TimingCachePath = p.TimingCachePath,
            CacheRoot = p.CacheRoot, MaxWorkspaceBytes = p.MaxWorkspaceBytes, DeviceType = p.DeviceType, ConfigFile = p.ConfigFile,
        };
        foreach (var (key, value) in p.Settings)
        {
            copy.Settings[key] = value;
        }

        return copy;
    }
}

/// <summary>Asks TensorRT and the CUDA driver themselves; both are optional libraries, absent on most devices.</summary>
internal sealed class NativeGpuInfo : IGpuInfo
{
    private readonly Lazy<string?> _tensorRt = new(ReadTensorRtVersion);

    public static NativeGpuInfo Instance { get; } = new();

    public string? TensorRtVersion => _tensorRt.Value;

    public string? Device(int deviceId) =>
        CudaDriver.State.Devices.FirstOrDefault(d => d.Ordinal == deviceId) is { } device
            ? $"{device.Name} sm{device.ComputeCapability.Replace(".", "", StringComparison.Ordinal)}"
            : null;

    /// <summary>TensorRT's library version number (<c>getInferLibVersion</c>, such as 100300 for 10.3.0), or null when TensorRT does not load.</summary>
    internal static string? ReadTensorRtVersion()
    {
        foreach (var name in new[] { "libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so" })
        {
            if (NativeLibrary.TryLoad(name, out var trt))
            {
                // Kept loaded: ONNX Runtime's TensorRT provider loads the same library anyway.
                return NativeLibrary.TryGetExport(trt, "getInferLibVersion", out var export)
                    ? Marshal.GetDelegateForFunctionPointer<GetInferLibVersion>(export)().ToString(CultureInfo.InvariantCulture)
                    : null;
            }
        }

        return null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetInferLibVersion();
}
