using System.Globalization;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Protocol;
using EdgeMl.Agent.Serving;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.EdgeHub;

/// <summary>
/// Predictions over edgeHub routes: an Open Inference Protocol request arriving on the module input <c>infer</c>
/// (the model named by the message property <c>model</c>, or the only desired model) is answered on the output
/// <c>predictions</c> with the request's message id as correlation id (or its own correlation id, kept). Bad
/// requests are answered too, with <c>{"error": …}</c> and a <c>status</c> property, so a sender never waits in vain.
/// </summary>
internal sealed class ModuleInferenceRoute(IIoTHubClient hub, PredictionPipeline pipeline, DesiredStateSource desired, ILogger<ModuleInferenceRoute> logger) : IHostedService
{
    private const string HeaderLength = "Inference-Header-Content-Length";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        hub.SetInputHandler(ModuleEndpoints.InferInput, HandleAsync);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        hub.SetInputHandler(ModuleEndpoints.InferInput, null);
        return Task.CompletedTask;
    }

    internal async Task HandleAsync(IoTHubMessage message, CancellationToken cancellationToken)
    {
        var correlation = message.CorrelationId ?? message.MessageId;
        var model = message.Properties.TryGetValue("model", out var named) && !string.IsNullOrEmpty(named) ? named
            : desired.Current.State.Models.Count == 1 ? desired.Current.State.Models.Keys.First() : null;
        IoTHubMessage answer;
        if (model is null)
        {
            answer = Error(400, "name the model in the message property 'model' (more than one model is served)", null, correlation);
        }
        else
        {
            answer = await PredictAsync(model, message, correlation, cancellationToken).ConfigureAwait(false);
        }

        var sent = await hub.SendOutputAsync(ModuleEndpoints.PredictionsOutput, answer, cancellationToken).ConfigureAwait(false);
        if (!sent.Succeeded)
        {
            Log.PredictionNotSent(logger, model ?? "?", correlation ?? "", sent.Message ?? sent.Error.ToString());
        }
    }

    private async Task<IoTHubMessage> PredictAsync(string model, IoTHubMessage message, string? correlation, CancellationToken cancellationToken)
    {
        long? version = null;
        if (message.Properties.TryGetValue("version", out var v) && v is not null)
        {
            if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return Error(400, $"message property 'version' '{v}' must be a positive integer", model, correlation);
            }

            version = parsed;
        }

        long? headerLength = null;
        if (message.Properties.TryGetValue(HeaderLength, out var h) && h is not null)
        {
            if (!long.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Error(400, $"{HeaderLength} '{h}' is not a byte count", model, correlation);
            }

            headerLength = parsed;
        }

        InferCall call;
        try
        {
            call = InferRequestReader.Read(message.Body, headerLength);
        }
        catch (ProtocolException e)
        {
            return Error(e.StatusCode, e.Message, model, correlation);
        }

        var result = await pipeline.InferAsync(model, call.Request, version, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return Error(OpenInferenceEndpoints.StatusOf(result.Error!.Kind), result.Error.Message, model, correlation);
        }

        // Messages carry JSON only: a binary tensor would need the header length in a property of every hop.
        var response = InferResponseWriter.Build(call with { BinaryByDefault = false, BinaryOutputs = new Dictionary<string, bool>() }, result);
        return new IoTHubMessage(response.Json)
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CorrelationId = correlation,
            Properties = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["model"] = model,
                ["version"] = result.Version.ToString(CultureInfo.InvariantCulture),
                ["status"] = "200",
            },
        };
    }

    private static IoTHubMessage Error(int status, string text, string? model, string? correlation) =>
        new(InferResponseWriter.Error(text))
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CorrelationId = correlation,
            Properties = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["model"] = model,
                ["status"] = status.ToString(CultureInfo.InvariantCulture),
            },
        };
}
