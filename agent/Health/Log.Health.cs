using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

/// <summary>Health reporting and direct methods, ids 5100–5199.</summary>
internal static partial class Log
{
    [LoggerMessage(5100, LogLevel.Debug, "Health reported to the twin ({Bytes} bytes by the twin size rule)")]
    public static partial void HealthReported(ILogger logger, long bytes);

    [LoggerMessage(5101, LogLevel.Warning, "Health report to the twin failed ({Error}, status {Status}): {Message}; retrying within {Interval}")]
    public static partial void HealthReportFailed(ILogger logger, string error, int status, string? message, TimeSpan interval);

    [LoggerMessage(5102, LogLevel.Error, "A health reporter pass failed; it runs again at its next interval")]
    public static partial void HealthPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(5103, LogLevel.Warning, "Health telemetry was not sent ({Error}): {Message}")]
    public static partial void TelemetryFailed(ILogger logger, string error, string? message);

    [LoggerMessage(5104, LogLevel.Information, "Direct methods registered: {Methods}")]
    public static partial void MethodsRegistered(ILogger logger, string methods);

    [LoggerMessage(5105, LogLevel.Information, "Direct method {Method} answered {Status}")]
    public static partial void MethodAnswered(ILogger logger, string method, int status);

    [LoggerMessage(5106, LogLevel.Error, "Direct method {Method} failed")]
    public static partial void MethodFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(5107, LogLevel.Information, "ONNX Runtime {Version} ({Flavour} flavour), providers in this build: {Providers}; loaded from {Library}")]
    public static partial void OnnxRuntimeBuild(ILogger logger, string version, string flavour, string providers, string library);

    [LoggerMessage(5108, LogLevel.Information, "CUDA driver {DriverVersion}: {Devices}")]
    public static partial void GpusFound(ILogger logger, string driverVersion, string devices);

    [LoggerMessage(5109, LogLevel.Information, "No GPU for inference: {Reason}")]
    public static partial void NoGpu(ILogger logger, string reason);

    [LoggerMessage(5110, LogLevel.Information, "Accelerator libraries found: {Found}; not found: {Missing}; TensorRT: {TensorRt}")]
    public static partial void AcceleratorLibraries(ILogger logger, string found, string missing, string tensorRt);
}
