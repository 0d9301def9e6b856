using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace EdgeMl.CloudSync.IoTHub;

internal sealed partial class IoTHubClient
{
    private static readonly byte[] NotImplementedBody = """{"message":"Method not implemented"}"""u8.ToArray();
    private static readonly byte[] BadRequestBody = """{"message":"The method payload is not valid JSON."}"""u8.ToArray();
    private static readonly byte[] HandlerFailedBody = """{"message":"The method handler failed."}"""u8.ToArray();
    private readonly ConcurrentDictionary<string, DirectMethodHandler> _methods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, InputMessageHandler> _inputHandlers = new(StringComparer.Ordinal);
    private readonly Channel<IoTHubMessage> _inputs;

    public void SetMethodHandler(string methodName, DirectMethodHandler? handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        if (handler is null)
        {
            _methods.TryRemove(methodName, out _);
        }
        else
        {
            _methods[methodName] = handler;
        }
    }

    public void SetInputHandler(string inputName, InputMessageHandler? handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        if (handler is null)
        {
            _inputHandlers.TryRemove(inputName, out _);
        }
        else
        {
            _inputHandlers[inputName] = handler;
        }
    }

    /// <summary>
    /// MQTTnet awaits this before reading the next packet, so nothing here may wait on user code: method handlers
    /// run on the thread pool and inputs go through a channel (which keeps their order).
    /// </summary>
    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        var body = e.ApplicationMessage.Payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : e.ApplicationMessage.Payload.ToArray();
        if (IoTHubTopics.TryParseTwinResponse(topic, out var status, out var rid, out var version))
        {
            OnTwinResponse(status, rid!, version, body);
        }
        else if (IoTHubTopics.TryParseDesired(topic, out var desiredVersion))
        {
            OnDesiredPatch(desiredVersion, body);
        }
        else if (IoTHubTopics.TryParseMethod(topic, out var name, out var methodRid))
        {
            _ = Task.Run(() => InvokeMethodAsync(name, methodRid, body));
        }
        else if (_identity?.ModuleId is { } moduleId && topic.StartsWith(IoTHubTopics.InputsPrefix(_identity.DeviceId, moduleId), StringComparison.Ordinal))
        {
            OnInputMessage(topic, topic[IoTHubTopics.InputsPrefix(_identity.DeviceId, moduleId).Length..], body);
        }
        else
        {
            Reject(topic, "no handler for this topic");
        }

        return Task.CompletedTask;
    }

    private void Reject(string topic, string reason)
    {
        _metrics.IncomingRejected.Add(1);
        Log.IoTHubIncomingRejected(_logger, topic, reason);
    }

    private async Task InvokeMethodAsync(string name, string rid, ReadOnlyMemory<byte> payload)
    {
        int status;
        byte[] responseBody;
        if (!_methods.TryGetValue(name, out var handler))
        {
            // As the C# SDK: 501 with a message. (Node leaves the call unanswered until the service times out.)
            Log.IoTHubMethodUnknown(_logger, name);
            (status, responseBody) = (501, NotImplementedBody);
        }
        else if (!IsEmptyOrJson(payload.Span))
        {
            // As the C# SDK: 400 before the handler sees it.
            Log.IoTHubMethodPayloadInvalid(_logger, name);
            (status, responseBody) = (400, BadRequestBody);
        }
        else
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.OperationTimeout, _time);
                var response = await handler(new DirectMethodRequest(name, payload), timeout.Token);
                status = response.Status;
                responseBody = response.Payload is null ? [] : Encoding.UTF8.GetBytes(response.Payload.ToJsonString());
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A handler's failure is an answer, not a reason to lose the connection.
                Log.IoTHubMethodHandlerFailed(_logger, ex, name);
                (status, responseBody) = (500, HandlerFailedBody);
            }
        }

        _metrics.MethodCalls.Add(1, new KeyValuePair<string, object?>("status", status));
        try
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(IoTHubTopics.MethodResponse(status, rid))
                .WithPayload(responseBody)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            using var cts = new CancellationTokenSource(_options.OperationTimeout);
            await _mqtt.PublishAsync(message, cts.Token);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The caller's call times out on the service side; nothing to retry here.
            Log.IoTHubMethodResponseFailed(_logger, ex, name);
        }
    }

    private static bool IsEmptyOrJson(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(payload);
            return JsonDocument.TryParseValue(ref reader, out var doc) && DisposeTrue(doc) && reader.BytesConsumed == payload.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool DisposeTrue(JsonDocument? doc)
    {
        doc?.Dispose();
        return true;
    }

    private void OnInputMessage(string topic, string rest, ReadOnlyMemory<byte> body)
    {
        var (input, bag) = IoTHubTopics.SplitInput(rest);
        if (input.Length == 0)
        {
            Reject(topic, "the topic names no input");
            return;
        }

        if (!PropertyBag.TryDecode(bag, out var properties, out var error))
        {
            Reject(topic, error);
            return;
        }

        if (!_inputs.Writer.TryWrite(MessageFromBag(body, properties, input)))
        {
            // The handlers are behind: what cannot wait is refused and counted rather than held without bound.
            Reject(topic, $"{_options.InputQueueCapacity} input messages are already waiting for their handler");
        }
    }

    internal static IoTHubMessage MessageFromBag(ReadOnlyMemory<byte> body, List<KeyValuePair<string, string?>> properties, string? input)
    {
        var app = new Dictionary<string, string?>(StringComparer.Ordinal);
        var other = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? ct = null, ce = null, mid = null, cid = null;
        foreach (var (key, value) in properties)
        {
            switch (key)
            {
                case "$.ct": ct = value; break;
                case "$.ce": ce = value; break;
                case "$.mid": mid = value; break;
                case "$.cid": cid = value; break;
                default:
                    (key.StartsWith("$.", StringComparison.Ordinal) ? other : app)[key] = value;
                    break;
            }
        }

        return new IoTHubMessage(body)
        {
            ContentType = ct, ContentEncoding = ce, MessageId = mid, CorrelationId = cid,
            Properties = app, OtherSystemProperties = other, InputName = input,
        };
    }

    private async Task PumpInputsAsync(CancellationToken stoppingToken)
    {
        await foreach (var message in _inputs.Reader.ReadAllAsync(stoppingToken))
        {
            if (!_inputHandlers.TryGetValue(message.InputName!, out var handler))
            {
                Reject($"inputs/{message.InputName}", "no handler for this input");
                continue;
            }

            try
            {
                await handler(message, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.IoTHubInputHandlerFailed(_logger, ex, message.InputName!);
            }
        }
    }
}
