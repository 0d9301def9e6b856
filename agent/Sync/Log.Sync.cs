using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5010, LogLevel.Error, "Reconcile pass failed; serving continues and the next pass tries again")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception);

    [LoggerMessage(5011, LogLevel.Warning, "Pull of {Model} {Version} failed: {Message}; retrying in {Delay}")]
    public static partial void PullFailed(ILogger logger, string model, string version, string message, TimeSpan delay);

    [LoggerMessage(5014, LogLevel.Warning, "Pull of {Model} {Version} refused ({Failure}): {Message}")]
    public static partial void PullRefused(ILogger logger, string model, string version, EdgeMl.Runtime.Packages.VerificationFailure failure, string message);

    [LoggerMessage(5012, LogLevel.Warning, "Drift baseline of {Model} v{Version} is unreadable ({Problem}); drift is off for this version")]
    public static partial void BaselineUnreadable(ILogger logger, string model, long version, string problem);

    [LoggerMessage(5005, LogLevel.Warning, "Acknowledging desired properties failed; trying again with the next change")]
    public static partial void AcknowledgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(5006, LogLevel.Warning, "The hub refused the acknowledgement patch ({Error}): {Message}")]
    public static partial void AcknowledgementRefused(ILogger logger, string error, string message);

    [LoggerMessage(5013, LogLevel.Error, "Sync of {Model} failed unexpectedly; other models go on and it is retried with back-off")]
    public static partial void ModelSyncFailed(ILogger logger, Exception exception, string model);
}
