using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeMl.Runtime.Providers;

/// <summary>
/// Turns off ONNX Runtime's own telemetry for this process, before any code here can start ONNX Runtime.
/// </summary>
/// <remarks>
/// <para>ONNX Runtime's Linux packages collect telemetry since 1.32. When its environment is created, the library writes a
/// device id and an event store under <c>~/.cache/Microsoft/DeveloperTools/.onnxruntime</c>, runs an uploader thread,
/// and queues events for Microsoft: the executable's path, the operating system, the CPU, the container, then
/// sessions and models. An unattended agent must not write outside its data directory, nor send anything to anyone
/// its operator did not configure, so the agent turns this off for itself.</para>
/// <para>ONNX Runtime reads <c>ORT_DISABLE_TELEMETRY</c> once, from the native environment, when it starts (calling
/// <c>DisableTelemetryEvents</c> afterwards is too late for the first events). <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// changes only .NET's copy, so the variable is set through libc. It runs as this assembly's module initializer:
/// before any of its code, and under Native AOT at start-up, before the host's threads.</para>
/// </remarks>
internal static partial class OnnxRuntimeTelemetry
{
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "It must run before any code of this assembly can create ONNX Runtime's environment, whoever hosts the assembly.")]
    internal static void TurnOff()
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = SetEnv(Variable, "1", overwrite: 1);
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
