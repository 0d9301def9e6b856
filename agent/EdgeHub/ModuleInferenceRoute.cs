using System.Globalization;
using System.Threading.Channels;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Protocol;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Telemetry;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.EdgeHub;

/// <summary>
/// Predictions over edgeHub routes: an Open Inference Protocol request arriving on the module input <c>infer</c>
/// (the model named by the message property <c>model</c>, or the only desired model) is answered on the output
/// <c>predictions</c> with the request's message id as correlation id (or its own correlation id, kept). Bad
/// requests are answered too, with <c>{"error": …}</c> and a <c>status</c> property, so a sender never waits in vain.
/// Requests wait for the engine in a queue of <see cref="QueueCapacity"/>; one that finds it full is answered 503 at once.
/// </summary>
internal sealed class ModuleInferenceRoute(
    IIoTHubClient hub, PredictionPipeline pipeline, DesiredStateSource desired, ILogger<ModuleInferenceRoute> logger, int queueCapacity = ModuleInferenceRoute.QueueCapacity)
    : BackgroundService
{
    public const int QueueCapacity = 32;
    private const string HeaderLength = "Inference-Header-Content-Length";
    private readonly Channel<IoTHubMessage> _queue = Channel.CreateBounded<IoTHubMessage>(new BoundedChannelOptions(queueCapacity) { SingleReader = true });

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        hub.SetInputHandler(ModuleEndpoints.InferInput, AcceptAsync);
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        hub.SetInputHandler(ModuleEndpoints.InferInput, null);
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await HandleAsync(message, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // One request that fails in a way no one planned for must not stop the route for the others.
                    Log.ModuleRequestFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The input handler: queues the request, or answers 503 when the queue is full.</summary>
    internal Task AcceptAsync(IoTHubMessage message, CancellationToken cancellationToken)
    {
        if (_queue.Writer.TryWrite(message))
        {
            return Task.CompletedTask;
        }

        var model = message.Properties.TryGetValue("model", out var named) ? named : null;
        var correlation = message.CorrelationId ?? message.MessageId;
        return AnswerAsync(Error(503, $"{queueCapacity} requests are already waiting for the engine; send again later", model, correlation), model, correlation, cancellationToken);
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
            // A correlation id that is a W3C traceparent (or a traceparent property) continues the sender's trace.
            using var trace = Traces.StartPrediction(
                Traces.EdgeHub, model, Property(message, "traceparent") ?? correlation, Property(message, "tracestate"), correlation);
            answer = await PredictAsync(model, message, correlation, cancellationToken).ConfigureAwait(false);
            if (Property(answer, "status") is { } status && status != "200")
            {
                trace.Fail(status);
            }
        }

        await AnswerAsync(answer, model, correlation, cancellationToken).ConfigureAwait(false);
    }

    private async Task AnswerAsync(IoTHubMessage answer, string? model, string? correlation, CancellationToken cancellationToken)
    {
        var sent = await hub.SendOutputAsync(ModuleEndpoints.PredictionsOutput, answer, cancellationToken).ConfigureAwait(false);
        if (!sent.Succeeded)
        {
            Log.PredictionNotSent(logger, model ?? "?", correlation ?? "", sent.Message ?? sent.Error.ToString());
        }
    }

    private async Task<IoTHubMessage> PredictAsync(string model, IoTHubMessage message, string? correlation, CancellationToken cancellationToken)
    {
        if (ReadProperties(message, out var version, out var headerLength) is { } refused)
        {
            return Error(400, refused, model, correlation);
        }

        // Nothing of the body is read for a model that is not here.
        if (!pipeline.Engine.Holds(model))
        {
            return Error(404, $"model '{model}' is not served", model, correlation);
        }

        InferCall call;
        try
        {
            call = InferRequestReader.Read(message.Body, headerLength, pipeline.Engine.TensorNames(model));
        }
        catch (ProtocolException e)
        {
            return Error(e.StatusCode, e.Message, model, correlation);
        }

        // The message's JSON is a copy of the outputs, so the answer's pooled buffers go back once it is built.
        using var result = await pipeline.InferAsync(model, call.Request, version, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return Error(ProtocolException.StatusOf(result.Error!.Kind), result.Error.Message, model, correlation);
        }

        return Answer(model, call, result, correlation);
    }

    /// <summary>The optional <c>version</c> and header-length properties; null when they read, else why not.</summary>
    private static string? ReadProperties(IoTHubMessage message, out long? version, out long? headerLength)
    {
        (version, headerLength) = (null, null);
        if (message.Properties.TryGetValue("version", out var v) && v is not null)
        {
            if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return $"message property 'version' '{v}' must be a positive integer";
            }

            version = parsed;
        }

        if (message.Properties.TryGetValue(HeaderLength, out var h) && h is not null)
        {
            if (!long.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return $"{HeaderLength} '{h}' is not a byte count";
            }

            headerLength = parsed;
        }

        return null;
    }

    private static IoTHubMessage Answer(string model, InferCall call, InferenceResult result, string? correlation)
    {
        // Messages carry JSON only: a binary tensor would need the header length in a property of every hop.
        var response = InferResponseWriter.Build(call with { BinaryByDefault = false, BinaryOutputs = default }, result);
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

    private static string? Property(IoTHubMessage message, string name) => message.Properties.TryGetValue(name, out var value) ? value : null;

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
