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

    [LoggerMessage(5003, LogLevel.Information, "Desired $version {Version} applied ({Kind}): {Models} models, {Issues} refused properties")]
    public static partial void DesiredApplied(ILogger logger, long version, string kind, int models, int issues);

    [LoggerMessage(5004, LogLevel.Error, "Reading desired-property updates failed; reading again")]
    public static partial void DesiredStreamFailed(ILogger logger, Exception exception);
}
