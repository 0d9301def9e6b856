using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace EdgeMl.CloudSync.IoTHub;

internal sealed partial class IoTHubClient
{
    /// <summary>D2C body limit: C# refuses bodies over 0x3FFFF bytes, Node over 256 KiB.</summary>
    public const int MaxMessageBytes = 256 * 1024;

    private readonly Channel<OutgoingMessage> _telemetry;
    private long _dropped;

    private sealed record OutgoingMessage(string Topic, ReadOnlyMemory<byte> Body, TaskCompletionSource<IoTHubResult> Done);

    public long DroppedMessageCount => Interlocked.Read(ref _dropped);

    private Channel<OutgoingMessage> CreateTelemetryQueue(int capacity) =>
        Channel.CreateBounded<OutgoingMessage>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                var count = Interlocked.Increment(ref _dropped);
                _metrics.TelemetryDropped.Add(1);
                Log.IoTHubTelemetryDropped(_logger, count);
                dropped.Done.TrySetResult(IoTHubResult.Fail(IoTHubError.Dropped, "The outgoing queue was full; the oldest message was dropped."));
            });

    public Task<IoTHubResult> SendEventAsync(IoTHubMessage message, CancellationToken cancellationToken) =>
        EnqueueAsync(message, null, cancellationToken);

    public Task<IoTHubResult> SendOutputAsync(string outputName, IoTHubMessage message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        return EnqueueAsync(message, outputName, cancellationToken);
    }

    private async Task<IoTHubResult> EnqueueAsync(IoTHubMessage message, string? outputName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Body.Length > MaxMessageBytes)
        {
            return IoTHubResult.Fail(IoTHubError.TooLarge, $"The message body is {message.Body.Length} bytes; IoT Hub allows {MaxMessageBytes}.");
        }

        if (_identity is not { } identity)
        {
            return IoTHubResult.Fail(IoTHubError.NotConnected, "The IoT Hub client has not started.");
        }

        var topic = IoTHubTopics.EventsBase(identity.DeviceId, identity.ModuleId) + EncodeProperties(message, outputName) + "/";
        var item = new OutgoingMessage(topic, message.Body, new TaskCompletionSource<IoTHubResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_telemetry.Writer.TryWrite(item))
        {
            return IoTHubResult.Fail(IoTHubError.NotConnected, "The IoT Hub client stopped.");
        }

        return await item.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The C# SDK's form: system properties first, then application properties, all escaped.</summary>
    internal static string EncodeProperties(IoTHubMessage message, string? outputName)
    {
        var bag = new List<KeyValuePair<string, string?>>();
        void Add(string key, string? value)
        {
            if (value is not null)
            {
                bag.Add(new(key, value));
            }
        }

        Add("$.on", outputName);
        Add("$.mid", message.MessageId);
        Add("$.cid", message.CorrelationId);
        Add("$.ct", message.ContentType);
        Add("$.ce", message.ContentEncoding);
        foreach (var property in message.Properties)
        {
            bag.Add(property);
        }

        return PropertyBag.Encode(bag);
    }

    /// <summary>Publishes queued messages in order at QoS 1; a message in flight when the link drops is sent again after reconnect.</summary>
    private async Task PumpTelemetryAsync(CancellationToken stoppingToken)
    {
        OutgoingMessage? current = null;
        try
        {
            await foreach (var item in _telemetry.Reader.ReadAllAsync(stoppingToken))
            {
                current = item;
                while (!item.Done.Task.IsCompleted)
                {
                    await WaitForConnectedAsync(stoppingToken);
                    try
                    {
                        var message = new MqttApplicationMessageBuilder()
                            .WithTopic(item.Topic)
                            .WithPayload(item.Body.ToArray())
                            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                            .Build();
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        timeout.CancelAfter(_options.OperationTimeout);
                        var result = await _mqtt.PublishAsync(message, timeout.Token);
                        _metrics.TelemetrySent.Add(1);
                        item.Done.TrySetResult(result.IsSuccess
                            ? IoTHubResult.Ok()
                            : IoTHubResult.Fail(IoTHubError.Rejected, $"The hub refused the message ({result.ReasonCode})."));
                    }
                    catch (Exception ex) when (ex is MqttCommunicationException or ObjectDisposedException or InvalidOperationException
                                                   || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
                    {
                        // Not delivered: keep it and wait for the next connection rather than lose it.
                        await DisconnectQuietlyAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            current?.Done.TrySetResult(IoTHubResult.Fail(IoTHubError.NotConnected, "The IoT Hub client stopped before the message was sent."));
            while (_telemetry.Reader.TryRead(out var left))
            {
                left.Done.TrySetResult(IoTHubResult.Fail(IoTHubError.NotConnected, "The IoT Hub client stopped before the message was sent."));
            }
        }
    }
}
