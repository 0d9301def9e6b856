using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Desired state restored from {Path} (twin $version {Version})")]
    public static partial void DesiredRestored(ILogger logger, string path, long version);

    [LoggerMessage(5001, LogLevel.Warning, "Desired state file {Path} is unreadable ({Problem}); serving the embedded defaults until the twin answers")]
    public static partial void DesiredUnreadable(ILogger logger, string path, string problem);

    [LoggerMessage(5002, LogLevel.Warning, "Desired $version {Version}: {Path} refused: {Message}")]
    public static partial void DesiredRefused(ILogger logger, long version, string path, string message);

    [LoggerMessage(5010, LogLevel.Error, "Reconcile pass failed; serving continues and the next pass tries again")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception);

    [LoggerMessage(5011, LogLevel.Warning, "Pull of {Model} {Version} failed: {Message}; retrying in {Delay}")]
    public static partial void PullFailed(ILogger logger, string model, string version, string message, TimeSpan delay);

    [LoggerMessage(5012, LogLevel.Warning, "Drift baseline of {Model} v{Version} is unreadable ({Problem}); drift is off for this version")]
    public static partial void BaselineUnreadable(ILogger logger, string model, long version, string problem);
}
