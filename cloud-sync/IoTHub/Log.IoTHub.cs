using Microsoft.Extensions.Logging;

namespace EdgeMl.CloudSync;

internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "IoT Hub connecting to {Host}:{Port} as {ClientId}")]
    public static partial void IoTHubConnecting(ILogger logger, string host, int port, string clientId);

    [LoggerMessage(2001, LogLevel.Information, "IoT Hub connected as {ClientId}")]
    public static partial void IoTHubConnected(ILogger logger, string clientId);

    [LoggerMessage(2002, LogLevel.Warning, "IoT Hub connection attempt failed; retrying in {RetryIn}: {Reason}")]
    public static partial void IoTHubConnectFailed(ILogger logger, TimeSpan retryIn, string reason);

    [LoggerMessage(2003, LogLevel.Error, "IoT Hub refused our credentials; retrying in {RetryIn}: {Reason}")]
    public static partial void IoTHubUnauthorized(ILogger logger, TimeSpan retryIn, string reason);

    [LoggerMessage(2004, LogLevel.Warning, "IoT Hub connection lost: {Reason}")]
    public static partial void IoTHubDisconnected(ILogger logger, string reason);

    [LoggerMessage(2005, LogLevel.Information, "IoT Hub SAS token expires at {ExpiresAt}; reconnecting with a fresh one")]
    public static partial void IoTHubRenewingToken(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(2006, LogLevel.Information, "IoT Hub desired properties moved from version {Old} to {New} while offline")]
    public static partial void IoTHubDesiredMovedWhileOffline(ILogger logger, long old, long @new);

    [LoggerMessage(2007, LogLevel.Error, "IoT Hub desired patch (version {Version}) is not valid JSON; re-fetching the twin")]
    public static partial void IoTHubDesiredPatchInvalid(ILogger logger, Exception exception, long? version);

    [LoggerMessage(2008, LogLevel.Warning, "IoT Hub desired patch version {Version} skips ahead of {Known}; re-fetching the twin")]
    public static partial void IoTHubDesiredGap(ILogger logger, long version, long known);

    [LoggerMessage(2009, LogLevel.Error, "Direct method {Method} handler threw; answering 500")]
    public static partial void IoTHubMethodHandlerFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(2010, LogLevel.Warning, "Direct method {Method} has a payload that is not JSON; answering 400")]
    public static partial void IoTHubMethodPayloadInvalid(ILogger logger, string method);

    [LoggerMessage(2011, LogLevel.Warning, "Direct method {Method} has no handler; answering 501")]
    public static partial void IoTHubMethodUnknown(ILogger logger, string method);

    [LoggerMessage(2012, LogLevel.Error, "IoT Hub message on {Topic} dropped: {Reason}")]
    public static partial void IoTHubIncomingRejected(ILogger logger, string topic, string reason);

    [LoggerMessage(2013, LogLevel.Error, "Module input {Input} handler threw")]
    public static partial void IoTHubInputHandlerFailed(ILogger logger, Exception exception, string input);

    [LoggerMessage(2014, LogLevel.Warning, "IoT Hub twin re-fetch after connect failed ({Error}: {Message}); reconnecting")]
    public static partial void IoTHubTwinRefetchFailed(ILogger logger, IoTHub.IoTHubError error, string? message);

    [LoggerMessage(2015, LogLevel.Warning, "IoT Hub telemetry queue full; dropped the oldest message ({Dropped} dropped so far)")]
    public static partial void IoTHubTelemetryDropped(ILogger logger, long dropped);

    [LoggerMessage(2016, LogLevel.Error, "IoT Hub connection loop error; retrying")]
    public static partial void IoTHubLoopError(ILogger logger, Exception exception);

    [LoggerMessage(2017, LogLevel.Warning, "Direct method {Method} response could not be sent")]
    public static partial void IoTHubMethodResponseFailed(ILogger logger, Exception exception, string method);
}
