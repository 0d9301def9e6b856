using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

/// <summary>GPIO: event ids 5300–5399.</summary>
internal static partial class Log
{
    [LoggerMessage(5300, LogLevel.Information, "GPIO triggers watching pins {Triggers}")]
    public static partial void GpioTriggersStarted(ILogger logger, string triggers);

    [LoggerMessage(5301, LogLevel.Information, "GPIO status lights on pins {Lights}")]
    public static partial void GpioLightsStarted(ILogger logger, string lights);

    [LoggerMessage(5302, LogLevel.Information, "GPIO pin {Pin} {Edge}: {Model} v{Version} answered with {Outputs}")]
    public static partial void GpioInference(ILogger logger, int pin, Gpio.GpioEdge edge, string model, long version, string outputs);

    [LoggerMessage(5303, LogLevel.Warning, "GPIO pin {Pin} {Edge}: {Model} gave no prediction ({Kind}): {Message}")]
    public static partial void GpioInferenceFailed(ILogger logger, int pin, Gpio.GpioEdge edge, string model, Runtime.Tensors.InferenceErrorKind kind, string message);

    [LoggerMessage(5304, LogLevel.Information, "GPIO pin {Pin} {Edge} at {At:O}")]
    public static partial void GpioEvent(ILogger logger, int pin, Gpio.GpioEdge edge, DateTimeOffset at);

    [LoggerMessage(5305, LogLevel.Warning, "GPIO pin {Pin}: edge dropped, {Capacity} triggers already waiting")]
    public static partial void GpioEdgeDropped(ILogger logger, int pin, int capacity);

    [LoggerMessage(5306, LogLevel.Error, "GPIO trigger on pin {Pin} failed; the pins keep working")]
    public static partial void GpioTriggerFailed(ILogger logger, Exception exception, int pin);

    [LoggerMessage(5307, LogLevel.Warning, "GPIO status lights could not be set; trying again")]
    public static partial void GpioLightFailed(ILogger logger, Exception exception);

    [LoggerMessage(5308, LogLevel.Information, "Status lights: {Previous} → {Current}")]
    public static partial void GpioSignalChanged(ILogger logger, string previous, Gpio.AgentSignal current);
}
