using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5020, LogLevel.Warning, "Prediction of {Model} for correlation id '{CorrelationId}' could not be sent on the predictions output: {Reason}")]
    public static partial void PredictionNotSent(ILogger logger, string model, string correlationId, string reason);

    [LoggerMessage(5021, LogLevel.Error, "A request on the module input failed unexpectedly; the next one is served")]
    public static partial void ModuleRequestFailed(ILogger logger, Exception exception);
}
