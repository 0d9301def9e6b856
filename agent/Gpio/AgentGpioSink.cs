using System.Globalization;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Protocol;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Gpio;

/// <summary>
/// Where the agent sends what GPIO triggers produce: a prediction goes out on the edgeHub <c>predictions</c> output
/// (as the <c>infer</c> route answers, with <c>trigger=gpio</c> and the pin), and every trigger is an agent event,
/// which MQTT, telemetry and the diagnostics page report. Both are logged too.
/// </summary>
internal sealed class AgentGpioSink(AgentEventLog events, LoggingGpioSink log, IIoTHubClient? hub = null) : IGpioSink
{
    public const string EventKind = "gpio";

    public async ValueTask OnInferenceAsync(GpioTriggered trigger, InferenceResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(result);
        await log.OnInferenceAsync(trigger, result, cancellationToken).ConfigureAwait(false);
        events.Add(EventKind, result.Model, result.IsSuccess ? result.Version : null, result.IsSuccess
            ? $"pin {trigger.Pin} ({trigger.Edge}) ran {result.Model} v{result.Version}"
            : $"pin {trigger.Pin} ({trigger.Edge}) could not run {trigger.Model}: {result.Error!.Message}");
        if (hub is null || !result.IsSuccess)
        {
            return;
        }

        var body = InferResponseWriter.Build(new InferCall(null, new InferenceRequest([]), false, default), result).Json;
        await hub.SendOutputAsync(ModuleEndpoints.PredictionsOutput, new IoTHubMessage(body)
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            Properties = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["model"] = result.Model,
                ["version"] = result.Version.ToString(CultureInfo.InvariantCulture),
                ["status"] = "200",
                ["trigger"] = "gpio",
                ["pin"] = trigger.Pin.ToString(CultureInfo.InvariantCulture),
            },
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask OnEventAsync(GpioTriggered trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        await log.OnEventAsync(trigger, cancellationToken).ConfigureAwait(false);
        events.Add(EventKind, trigger.Model, null, $"pin {trigger.Pin} ({trigger.Edge})");
    }
}
