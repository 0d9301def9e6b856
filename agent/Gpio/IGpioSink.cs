using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Gpio;

/// <summary>An accepted edge on a trigger pin.</summary>
internal sealed record GpioTriggered(int Pin, GpioEdge Edge, GpioAction Action, string? Model, DateTimeOffset At);

/// <summary>
/// Where GPIO-triggered predictions and pin events go (the host wires it to the edgeHub <c>events</c>/<c>predictions</c>
/// outputs and MQTT); the default logs them.
/// </summary>
internal interface IGpioSink
{
    /// <summary>The outcome of a trigger's inference: outputs, or why there are none (no sample seen yet, model not ready…).</summary>
    /// <remarks>The result is disposed once this returns: a sink that keeps an output keeps its <see cref="InferenceTensor.Detach"/>.</remarks>
    ValueTask OnInferenceAsync(GpioTriggered trigger, InferenceResult result, CancellationToken cancellationToken);

    ValueTask OnEventAsync(GpioTriggered trigger, CancellationToken cancellationToken);
}

internal sealed class LoggingGpioSink(ILogger<LoggingGpioSink> logger) : IGpioSink
{
    public ValueTask OnInferenceAsync(GpioTriggered trigger, InferenceResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(result);
        if (result.IsSuccess)
        {
            Log.GpioInference(logger, trigger.Pin, trigger.Edge, result.Model, result.Version, string.Join(", ", result.Outputs.Select(o => $"{o.Name}[{string.Join(',', o.Shape)}]")));
        }
        else
        {
            Log.GpioInferenceFailed(logger, trigger.Pin, trigger.Edge, result.Model, result.Error!.Kind, result.Error.Message);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask OnEventAsync(GpioTriggered trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        Log.GpioEvent(logger, trigger.Pin, trigger.Edge, trigger.At);
        return ValueTask.CompletedTask;
    }
}
