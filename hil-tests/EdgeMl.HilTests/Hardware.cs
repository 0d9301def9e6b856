using System.Globalization;
using EdgeMl.Runtime.Providers;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.HilTests;

/// <summary>What this machine has, and why a test cannot run when it lacks it.</summary>
internal static class Hardware
{
    public const string GpioOutVariable = "EDGEML_HIL_GPIO_OUT";
    public const string GpioInVariable = "EDGEML_HIL_GPIO_IN";
    public const string GpioChipVariable = "EDGEML_HIL_GPIO_CHIP";
    public const string PublishedAgentVariable = "EDGEML_HIL_AGENT";

    /// <summary>The module image's build of <c>edgeml</c>, published by hil-tests/run.sh.</summary>
    public static string? PublishedAgent => Environment.GetEnvironmentVariable(PublishedAgentVariable) is { Length: > 0 } path ? Path.GetFullPath(path) : null;

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

    /// <summary>Null when the provider can start here; otherwise the agent's own verdict (not in the build, which library is missing, no device).</summary>
    public static string? WhyNo(string provider)
    {
        try
        {
            return ProviderChain.ForThisBuild().WhyNot(new ExecutionProviderOptions { Name = provider }) is { } skip
                ? $"{provider}: {skip.State}: {skip.Reason}"
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or OnnxRuntimeException or TypeInitializationException)
        {
            return $"ONNX Runtime's native library does not load here: {e.Message}";
        }
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
    public CudaFactAttribute() => Skip = Hardware.WhyNo(ProviderNames.Cuda);
}

/// <summary>Runs only where ONNX Runtime has TensorRT and TensorRT itself loads.</summary>
internal sealed class TensorRtFactAttribute : FactAttribute
{
    public TensorRtFactAttribute() => Skip = Hardware.WhyNo(ProviderNames.TensorRt);
}
