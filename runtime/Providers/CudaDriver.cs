using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeMl.Runtime.Providers;

/// <summary>One GPU as the CUDA driver describes it.</summary>
public sealed record CudaDevice(int Ordinal, string Name, long TotalMemoryBytes, string ComputeCapability);

/// <summary>What the CUDA driver (<c>libcuda.so.1</c>) says about this machine; every part may be absent.</summary>
/// <param name="LoadError">Why the driver library does not load (no NVIDIA driver, or the GPU not passed into the container).</param>
/// <param name="DriverVersion">The CUDA version the driver supports, such as <c>13.0</c>.</param>
/// <param name="Error">Why the driver found no usable device, such as <c>CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected</c>.</param>
public sealed record CudaDriverState(string? LoadError, string? DriverVersion, string? Error, IReadOnlyList<CudaDevice> Devices)
{
    public bool Loaded => LoadError is null;

    /// <summary>Null when device <paramref name="ordinal"/> is visible; otherwise why it is not, in words an operator can act on.</summary>
    public string? WhyNotVisible(int ordinal) =>
        LoadError is not null ? $"the CUDA driver does not load: {LoadError}"
        : Error is not null ? $"the CUDA driver sees no device: {Error}"
        : ordinal >= Devices.Count ? $"device {ordinal} is not visible ({Devices.Count} {(Devices.Count == 1 ? "device" : "devices")}: {string.Join(", ", Devices.Select(d => $"{d.Ordinal} {d.Name}"))})"
        : null;
}

/// <summary>
/// The CUDA driver API, called directly: <c>cuDriverGetVersion</c>, <c>cuInit</c>, <c>cuDeviceGetCount</c>,
/// <c>cuDeviceGetName</c>, <c>cuDeviceTotalMem</c>. The driver is what a container gets from the host's NVIDIA runtime,
/// so asking it tells "no driver", "driver but no GPU passed in" and "GPU visible" apart without spawning nvidia-smi.
/// </summary>
internal static unsafe class CudaDriver
{
    public const string Library = "libcuda.so.1";

    private const int Success = 0;
    private const int ComputeCapabilityMajor = 75;
    private const int ComputeCapabilityMinor = 76;
    private static readonly Lazy<CudaDriverState> Current = new(() => Query(Library));

    /// <summary>This machine's driver, asked once per process: devices do not come and go under a running agent.</summary>
    public static CudaDriverState State => Current.Value;

    /// <param name="library">The driver library: a name the loader searches for, or a path.</param>
    public static CudaDriverState Query(string library)
    {
        IntPtr handle;
        try
        {
            handle = NativeLibrary.Load(library);
        }
        catch (DllNotFoundException e)
        {
            return new CudaDriverState(NativeLibraries.LoaderReason(e.Message), null, null, []);
        }

        // Never freed: after cuInit the driver holds state for the process, which ONNX Runtime's CUDA provider shares.
        try
        {
            return Query(handle);
        }
        catch (EntryPointNotFoundException e)
        {
            // A driver too old for the API asked for: a fact about the device, not an agent failure.
            return new CudaDriverState(null, null, $"the driver lacks {e.Message}", []);
        }
    }

    /// <summary>The driver's version, then cuInit and the device count, then each device.</summary>
    private static CudaDriverState Query(IntPtr handle)
    {
        var driverGetVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(handle, "cuDriverGetVersion");
        var init = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(handle, "cuInit");
        var getCount = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(handle, "cuDeviceGetCount");

        int version;
        string? driverVersion = driverGetVersion(&version) == Success
            ? string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}")
            : null;
        var result = init(0);
        if (result != Success)
        {
            return new CudaDriverState(null, driverVersion, $"cuInit: {Describe(handle, result)}", []);
        }

        int count;
        result = getCount(&count);
        if (result != Success)
        {
            return new CudaDriverState(null, driverVersion, $"cuDeviceGetCount: {Describe(handle, result)}", []);
        }

        return count == 0
            ? new CudaDriverState(null, driverVersion, "the driver reports no CUDA device", [])
            : Devices(handle, driverVersion, count);
    }

    /// <summary>Each device's name, memory and compute capability; the first that cannot be read ends the list with why.</summary>
    private static CudaDriverState Devices(IntPtr handle, string? driverVersion, int count)
    {
        var get = (delegate* unmanaged<int*, int, int>)NativeLibrary.GetExport(handle, "cuDeviceGet");
        var getName = (delegate* unmanaged<byte*, int, int, int>)NativeLibrary.GetExport(handle, "cuDeviceGetName");
        var totalMem = (delegate* unmanaged<nuint*, int, int>)NativeLibrary.GetExport(handle, "cuDeviceTotalMem_v2");
        var attribute = (delegate* unmanaged<int*, int, int, int>)NativeLibrary.GetExport(handle, "cuDeviceGetAttribute");
        var devices = new List<CudaDevice>(count);
        var name = stackalloc byte[256];
        for (var ordinal = 0; ordinal < count; ordinal++)
        {
            int device, major, minor, result;
            nuint bytes;
            if ((result = get(&device, ordinal)) != Success || (result = getName(name, 256, device)) != Success
                || (result = totalMem(&bytes, device)) != Success
                || (result = attribute(&major, ComputeCapabilityMajor, device)) != Success
                || (result = attribute(&minor, ComputeCapabilityMinor, device)) != Success)
            {
                return new CudaDriverState(null, driverVersion, $"device {ordinal}: {Describe(handle, result)}", devices);
            }

            devices.Add(new CudaDevice(ordinal, Marshal.PtrToStringUTF8((IntPtr)name) ?? "", (long)bytes, string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}")));
        }

        return new CudaDriverState(null, driverVersion, null, devices);
    }

    /// <summary>The driver's own name and words for a result code, such as <c>CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected</c>.</summary>
    private static string Describe(IntPtr handle, int result)
    {
        var text = new StringBuilder();
        foreach (var export in new[] { "cuGetErrorName", "cuGetErrorString" })
        {
            byte* message = null;
            if (NativeLibrary.TryGetExport(handle, export, out var address)
                && ((delegate* unmanaged<int, byte**, int>)address)(result, &message) == Success && message is not null)
            {
                text.Append(text.Length > 0 ? ": " : "").Append(Marshal.PtrToStringUTF8((IntPtr)message));
            }
        }

        return text.Length > 0 ? text.ToString() : string.Create(CultureInfo.InvariantCulture, $"CUDA error {result}");
    }
}
