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

    [LoggerMessage(5014, LogLevel.Warning, "Pull of {Model} {Version} refused ({Failure}): {Message}")]
    public static partial void PullRefused(ILogger logger, string model, string version, EdgeMl.Runtime.Packages.VerificationFailure failure, string message);

    [LoggerMessage(5012, LogLevel.Warning, "Drift baseline of {Model} v{Version} is unreadable ({Problem}); drift is off for this version")]
    public static partial void BaselineUnreadable(ILogger logger, string model, long version, string problem);

    [LoggerMessage(5020, LogLevel.Warning, "Prediction of {Model} for correlation id '{CorrelationId}' could not be sent on the predictions output: {Reason}")]
    public static partial void PredictionNotSent(ILogger logger, string model, string correlationId, string reason);

    [LoggerMessage(5021, LogLevel.Error, "A request on the module input failed unexpectedly; the next one is served")]
    public static partial void ModuleRequestFailed(ILogger logger, Exception exception);

    [LoggerMessage(5003, LogLevel.Information, "Desired $version {Version} applied ({Kind}): {Models} models, {Issues} refused properties")]
    public static partial void DesiredApplied(ILogger logger, long version, string kind, int models, int issues);

    [LoggerMessage(5004, LogLevel.Error, "Reading desired-property updates failed; reading again")]
    public static partial void DesiredStreamFailed(ILogger logger, Exception exception);

    [LoggerMessage(5005, LogLevel.Warning, "Acknowledging desired properties failed; trying again with the next change")]
    public static partial void AcknowledgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(5006, LogLevel.Warning, "The hub refused the acknowledgement patch ({Error}): {Message}")]
    public static partial void AcknowledgementRefused(ILogger logger, string error, string message);

    [LoggerMessage(5030, LogLevel.Warning, "EdgeMl:AllowUnsigned is on: unsigned model packages are accepted. Use this for development only.")]
    public static partial void UnsignedAllowed(ILogger logger);

    [LoggerMessage(5031, LogLevel.Warning, "No trusted keys are configured (EdgeMl:TrustedKeyFiles): models on disk serve, but every pull is refused until keys are set")]
    public static partial void NoTrustedKeys(ILogger logger);

    [LoggerMessage(5032, LogLevel.Information, "EdgeMl agent {Version} serving on {Urls}, metrics on {MetricsUrls}, data in {DataDirectory}")]
    public static partial void AgentStarted(ILogger logger, string version, string urls, string metricsUrls, string dataDirectory);

    [LoggerMessage(5013, LogLevel.Error, "Sync of {Model} failed unexpectedly; other models go on and it is retried with back-off")]
    public static partial void ModelSyncFailed(ILogger logger, Exception exception, string model);
}
