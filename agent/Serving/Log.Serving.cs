using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5500, LogLevel.Information, "Stopping: readiness answers 503; requests are still served for the drain window of {Window} ({InFlight} in flight)")]
    public static partial void DrainStarted(ILogger logger, TimeSpan window, int inFlight);

    [LoggerMessage(5501, LogLevel.Information, "Drain window over: new requests are answered 503 with Retry-After; waiting for {InFlight} in flight")]
    public static partial void DrainRefusing(ILogger logger, int inFlight);

    [LoggerMessage(5502, LogLevel.Information, "Every request in flight has been answered; stopping the server")]
    public static partial void Drained(ILogger logger);

    [LoggerMessage(5503, LogLevel.Warning, "{InFlight} requests were still running when EdgeMl:ShutdownTimeout ({Timeout}) ran out; the server's stop cuts them off")]
    public static partial void DrainTimedOut(ILogger logger, int inFlight, TimeSpan timeout);
}
