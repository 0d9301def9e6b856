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
internal sealed partial class NativeGpuInfo : IGpuInfo
{
    private const int ComputeCapabilityMajor = 75;
    private const int ComputeCapabilityMinor = 76;
    private readonly Lazy<string?> _tensorRt = new(ReadTensorRtVersion);

    public static NativeGpuInfo Instance { get; } = new();

    public string? TensorRtVersion => _tensorRt.Value;

    public string? Device(int deviceId)
    {
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var cuda))
        {
            return null;
        }

        try
        {
            var init = Marshal.GetDelegateForFunctionPointer<CuInit>(NativeLibrary.GetExport(cuda, "cuInit"));
            var get = Marshal.GetDelegateForFunctionPointer<CuDeviceGet>(NativeLibrary.GetExport(cuda, "cuDeviceGet"));
            var name = Marshal.GetDelegateForFunctionPointer<CuDeviceGetName>(NativeLibrary.GetExport(cuda, "cuDeviceGetName"));
            var attribute = Marshal.GetDelegateForFunctionPointer<CuDeviceGetAttribute>(NativeLibrary.GetExport(cuda, "cuDeviceGetAttribute"));
            if (init(0) != 0 || get(out var device, deviceId) != 0)
            {
                return null;
            }

            var buffer = new byte[256];
            if (name(buffer, buffer.Length, device) != 0 || attribute(out var major, ComputeCapabilityMajor, device) != 0 || attribute(out var minor, ComputeCapabilityMinor, device) != 0)
            {
                return null;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)));
            return string.Create(CultureInfo.InvariantCulture, $"{text} sm{major}{minor}");
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
        finally
        {
            NativeLibrary.Free(cuda);
        }
    }

    private static string? ReadTensorRtVersion()
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

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuInit(uint flags);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuDeviceGet(out int device, int ordinal);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuDeviceGetName(byte[] name, int length, int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuDeviceGetAttribute(out int value, int attribute, int device);
}
