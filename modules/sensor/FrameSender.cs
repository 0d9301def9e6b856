using System.Globalization;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Sensor;

/// <summary>The module's one output; the deployment routes it to the agent's <c>infer</c> input.</summary>
internal static class SensorEndpoints
{
    public const string FramesOutput = "frames";
}

/// <summary>Sends a simulated frame on <c>frames</c> every interval, like SimulatedTemperatureSensor does with readings.</summary>
internal sealed class FrameSender(IIoTHubClient client, IOptions<SensorOptions> options, TimeProvider time, ILogger<FrameSender> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        await WaitForConnectionAsync(stoppingToken).ConfigureAwait(false);
        for (var frame = 1; settings.MessageCount == 0 || frame <= settings.MessageCount; frame++)
        {
            var body = SimulatedFrames.Request(settings.InputName, frame, settings.Seed);
            var message = new IoTHubMessage(body)
            {
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                MessageId = $"{settings.Model}-{frame}",
                Properties =
                {
                    ["model"] = settings.Model,
                    ["frame"] = frame.ToString(CultureInfo.InvariantCulture),
                    ["capturedAt"] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
                },
            };

            // Completes when edgeHub acknowledged it (the client retries through reconnects), or says why not.
            var result = await client.SendOutputAsync(SensorEndpoints.FramesOutput, message, stoppingToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                Log.FrameSent(logger, frame, body.Length);
            }
            else
            {
                Log.FrameNotSent(logger, frame, result.Message ?? result.Error.ToString());
            }

            await Task.Delay(settings.Interval, time, stoppingToken).ConfigureAwait(false);
        }

        Log.Done(logger, settings.MessageCount);
    }

    /// <summary>The client starts beside this service; frames sent before its first connection would only be refused.</summary>
    private async Task WaitForConnectionAsync(CancellationToken cancellationToken)
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(object? sender, IoTHubConnectionStateChangedEventArgs e)
        {
            if (e.State == IoTHubConnectionState.Connected)
            {
                connected.TrySetResult();
            }
        }

        client.ConnectionStateChanged += OnChanged;
        try
        {
            if (client.State == IoTHubConnectionState.Connected)
            {
                return;
            }

            await connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            client.ConnectionStateChanged -= OnChanged;
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(5390, LogLevel.Information, "Frame {Frame} sent on 'frames' ({Bytes} bytes)")]
    public static partial void FrameSent(ILogger logger, int frame, int bytes);

    [LoggerMessage(5391, LogLevel.Warning, "Frame {Frame} not sent: {Reason}")]
    public static partial void FrameNotSent(ILogger logger, int frame, string reason);

    [LoggerMessage(5392, LogLevel.Information, "Sent the configured {Count} frames; idle until stopped")]
    public static partial void Done(ILogger logger, int count);
}
