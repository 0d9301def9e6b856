using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.HilTests;

/// <summary>What this machine has, and why a test cannot run when it lacks it.</summary>
internal static class Hardware
{
    public const string GpioOutVariable = "EDGEML_HIL_GPIO_OUT";
    public const string GpioInVariable = "EDGEML_HIL_GPIO_IN";
    public const string GpioChipVariable = "EDGEML_HIL_GPIO_CHIP";

    public static int? GpioOut => Pin(GpioOutVariable);

    public static int? GpioIn => Pin(GpioInVariable);

    public static int GpioChip => Pin(GpioChipVariable) ?? 0;

    public static string? WhyNoGpioLoopback()
    {
        if (GpioOut is null || GpioIn is null)
        {
            return $"no GPIO loopback: set {GpioOutVariable} and {GpioInVariable} to a wired pin pair (see hil-tests/README.md)";
        }

        var chip = $"/dev/gpiochip{GpioChip}";
        return File.Exists(chip) ? null : $"no GPIO loopback: {chip} does not exist on this machine";
    }

    public static string? WhyNo(string onnxProvider, params string[] nativeLibraries)
    {
        string[] available;
        try
        {
            available = OrtEnv.Instance().GetAvailableProviders();
        }
        catch (Exception e) when (e is DllNotFoundException or OnnxRuntimeException or TypeInitializationException)
        {
            return $"ONNX Runtime's native library does not load here: {e.Message}";
        }

        if (!available.Contains(onnxProvider))
        {
            return $"{onnxProvider} is not in this ONNX Runtime build (available: {string.Join(", ", available)}); build with -p:OnnxRuntimeFlavor=gpu or system";
        }

        foreach (var library in nativeLibraries)
        {
            if (NativeLibrary.TryLoad(library, out var handle))
            {
                NativeLibrary.Free(handle);
                return null;
            }
        }

        return $"{onnxProvider} is built in, but {string.Join(" / ", nativeLibraries)} does not load: no driver or runtime on this machine";
    }

    private static int? Pin(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out var pin) ? pin : null;
}

/// <summary>Runs only with a wired GPIO pin pair named by <c>EDGEML_HIL_GPIO_OUT</c>/<c>EDGEML_HIL_GPIO_IN</c>.</summary>
internal sealed class GpioLoopbackFactAttribute : FactAttribute
{
    public GpioLoopbackFactAttribute() => Skip = Hardware.WhyNoGpioLoopback();
}

/// <summary>Runs only where ONNX Runtime has CUDA and the CUDA driver loads.</summary>
internal sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute() => Skip = Hardware.WhyNo("CUDAExecutionProvider", "libcuda.so.1");
}

/// <summary>Runs only where ONNX Runtime has TensorRT and TensorRT itself loads.</summary>
internal sealed class TensorRtFactAttribute : FactAttribute
{
    public TensorRtFactAttribute() => Skip = Hardware.WhyNo("TensorrtExecutionProvider", "libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so");
}
