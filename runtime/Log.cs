using Microsoft.Extensions.Logging;

namespace EdgeMl.Runtime;

/// <summary>Runtime log events, ids 1000–1499 (1500–1999 belong to model packages).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Loading {Model} v{Version} from {Path}")]
    public static partial void Loading(ILogger logger, string model, long version, string path);

    [LoggerMessage(1001, LogLevel.Information, "Loaded {Model} v{Version} on {Provider} in {LoadMs:F0} ms (warm-up {WarmUpMs:F0} ms)")]
    public static partial void Loaded(ILogger logger, string model, long version, string provider, double loadMs, double warmUpMs);

    [LoggerMessage(1002, LogLevel.Warning, "{Model} v{Version} is degraded: {Reason}")]
    public static partial void Degraded(ILogger logger, string model, long version, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "Provider {Provider} failed to create a session for {Model} v{Version}; trying the rest of the chain")]
    public static partial void ProviderSessionFailed(ILogger logger, Exception exception, string provider, string model, long version);

    [LoggerMessage(1004, LogLevel.Error, "{Model} v{Version} was not activated at stage {Stage}: {Reason}")]
    public static partial void ActivationFailed(ILogger logger, string model, long version, string stage, string reason);

    [LoggerMessage(1005, LogLevel.Information, "{Model} now serves v{Version} (before: {Previous})")]
    public static partial void Swapped(ILogger logger, string model, long version, string previous);

    [LoggerMessage(1006, LogLevel.Debug, "Retired {Model} v{Version}: its last request finished")]
    public static partial void Retired(ILogger logger, string model, long version);

    [LoggerMessage(1007, LogLevel.Error, "{Model} v{Version} failed a request in ONNX Runtime")]
    public static partial void RunFailed(ILogger logger, Exception exception, string model, long version);

    [LoggerMessage(1008, LogLevel.Warning, "Could not read the ONNX Runtime profile of {Model} v{Version}; node placement is not reported")]
    public static partial void ProfileUnreadable(ILogger logger, Exception exception, string model, long version);

    [LoggerMessage(1009, LogLevel.Warning, "Could not save the optimized graph of {Model} v{Version} to the cache")]
    public static partial void OptimizedCacheFailed(ILogger logger, Exception exception, string model, long version);

    [LoggerMessage(1011, LogLevel.Information, "{Model} v{Version} serves on {Interim} while its {Provider} engine builds")]
    public static partial void BuildingInBackground(ILogger logger, string model, long version, string interim, string provider);

    [LoggerMessage(1012, LogLevel.Warning, "{Model} v{Version} stays on {Interim}: the {Provider} build did not succeed: {Reason}")]
    public static partial void BuildFailed(ILogger logger, string model, long version, string interim, string provider, string reason);

    [LoggerMessage(1013, LogLevel.Information, "{Model} v{Version} (batching auto) now serves {Mode}: {Reason}")]
    public static partial void BatchingChosen(ILogger logger, string model, long version, string mode, string reason);

    [LoggerMessage(1014, LogLevel.Warning, "{Count} model loads were still inside ONNX Runtime {Seconds} s after the stop began (a session's creation cannot be interrupted); the process may abort as it exits")]
    public static partial void LoadOutlivedStop(ILogger logger, int count, double seconds);

    [LoggerMessage(1010, LogLevel.Information, "Unloaded {Model}")]
    public static partial void Unloaded(ILogger logger, string model);
}
