using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5800, LogLevel.Information, "{Model} v{Version} on probation against v{Previous}")]
    public static partial void ProbationStarted(ILogger logger, string model, long version, long previous);

    [LoggerMessage(5801, LogLevel.Information, "{Model}: {Summary}")]
    public static partial void ProbationPassed(ILogger logger, string model, string summary);

    [LoggerMessage(5802, LogLevel.Warning, "{Model}: {Reason}")]
    public static partial void ProbationBreached(ILogger logger, string model, string reason);

    [LoggerMessage(5803, LogLevel.Error, "{Model}: probation breached ({Reason}) but v{Previous} could not be served again; v{Version} keeps serving")]
    public static partial void ProbationRollbackFailed(ILogger logger, string model, long version, long previous, string reason);

    [LoggerMessage(5804, LogLevel.Error, "Probation look at {Model} failed; the next look tries again")]
    public static partial void ProbationFailed(ILogger logger, Exception exception, string model);

    [LoggerMessage(5805, LogLevel.Warning, "Shadow v{Version} of {Model} could not be loaded: {Reason}")]
    public static partial void ShadowLoadFailed(ILogger logger, string model, long version, string reason);

    [LoggerMessage(5806, LogLevel.Information, "{Model}: shadow v{Version} promoted ({Summary})")]
    public static partial void ShadowPromoted(ILogger logger, string model, long version, string summary);
}
