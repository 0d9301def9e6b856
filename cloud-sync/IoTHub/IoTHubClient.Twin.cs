using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace EdgeMl.CloudSync.IoTHub;

internal sealed partial class IoTHubClient
{
    private readonly Lock _desiredLock = new();
    private long _desiredVersion = -1;
    private int _refetching;

    public async Task<TwinResult> GetTwinAsync(CancellationToken cancellationToken)
    {
        if (_state != IoTHubConnectionState.Connected)
        {
            return new TwinResult(IoTHubError.NotConnected, 0, "Not connected to the hub.", null);
        }

        return await GetTwinCoreAsync(cancellationToken);
    }

    private async Task<TwinResult> GetTwinCoreAsync(CancellationToken cancellationToken)
    {
        // Node sends " " as the GET body; the hub ignores it either way.
        var answer = await RequestAsync(IoTHubTopics.TwinGet, ReadOnlyMemory<byte>.Empty, cancellationToken);
        if (answer.Error != IoTHubError.None)
        {
            return new TwinResult(answer.Error, answer.Status, answer.Message, null);
        }

        try
        {
            var doc = ParseObject(answer.Body.Span);
            var desired = doc["desired"] as JsonObject ?? [];
            var reported = doc["reported"] as JsonObject ?? [];
            doc.Remove("desired");
            doc.Remove("reported");
            return new TwinResult(IoTHubError.None, answer.Status, null, new TwinProperties(desired, reported));
        }
        catch (JsonException ex)
        {
            return new TwinResult(IoTHubError.InvalidResponse, answer.Status, $"The twin document is not valid JSON: {ex.Message}", null);
        }
    }

    public async Task<ReportedPatchResult> UpdateReportedPropertiesAsync(JsonObject patch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (TwinLimits.CheckReportedPatch(patch) is { } tooLarge)
        {
            return new ReportedPatchResult(IoTHubError.TooLarge, 0, tooLarge, null);
        }

        if (_state != IoTHubConnectionState.Connected)
        {
            return new ReportedPatchResult(IoTHubError.NotConnected, 0, "Not connected to the hub.", null);
        }

        var body = Encoding.UTF8.GetBytes(patch.ToJsonString());
        var answer = await RequestAsync(IoTHubTopics.ReportedPatch, body, cancellationToken);
        // IoT Hub answers 204 with $version; edgeHub answers 204 alone (reference §3.4).
        return new ReportedPatchResult(answer.Error, answer.Status, answer.Message, answer.Version);
    }

    private async Task<TwinResponse> RequestAsync(Func<string, string> topic, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!_mqtt.IsConnected)
        {
            return new TwinResponse(IoTHubError.NotConnected, 0, null, default, "Not connected to the hub.");
        }

        var (rid, answer) = _pending.Add();
        using var timeout = new CancellationTokenSource(_options.OperationTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic(rid))
                .WithPayload(body.ToArray())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            await _mqtt.PublishAsync(message, linked.Token);
            var response = await answer.WaitAsync(linked.Token);
            return response.Error != IoTHubError.None || response.Status < 300 ? response : AsRejection(response);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException
                                   && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // MQTTnet reports a cancelled publish as MqttCommunicationTimedOutException; either way it was our clock.
            return new TwinResponse(IoTHubError.Timeout, 0, null, default,
                $"The hub did not answer the twin request within {_options.OperationTimeout}.");
        }
        catch (MqttCommunicationException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or ObjectDisposedException or InvalidOperationException)
        {
            return new TwinResponse(IoTHubError.ConnectionLost, 0, null, default, $"The connection was lost before the twin request was answered: {ex.Message}");
        }
        finally
        {
            _pending.Remove(rid);
        }
    }

    private static TwinResponse AsRejection(TwinResponse response)
    {
        // Error bodies look like {"errorCode":400004,"message":"…"}; show them as they came.
        var text = Encoding.UTF8.GetString(response.Body.Span);
        return response with
        {
            Error = IoTHubError.Rejected,
            Message = $"The hub answered {response.Status}" + (text.Length > 0 ? $": {text}" : "."),
        };
    }

    private void OnTwinResponse(int status, string rid, long? version, ReadOnlyMemory<byte> body) =>
        _pending.Complete(rid, new TwinResponse(IoTHubError.None, status, version, body, null));

    private void OnDesiredPatch(long? topicVersion, ReadOnlyMemory<byte> body)
    {
        JsonObject patch;
        try
        {
            patch = ParseObject(body.Span);
        }
        catch (JsonException ex)
        {
            Log.IoTHubDesiredPatchInvalid(_logger, ex, topicVersion);
            _metrics.IncomingRejected.Add(1);
            RefetchTwinInBackground();
            return;
        }

        var version = topicVersion ?? (patch["$version"] is JsonValue v && v.TryGetValue<long>(out var bodyVersion) ? bodyVersion : (long?)null);
        lock (_desiredLock)
        {
            if (version is null || (_desiredVersion >= 0 && version > _desiredVersion + 1))
            {
                // A gap (or no version at all) means an update we never saw: the full document is the only safe answer.
                Log.IoTHubDesiredGap(_logger, version ?? -1, _desiredVersion);
                RefetchTwinInBackground();
                return;
            }

            if (version <= _desiredVersion)
            {
                return;
            }

            _desiredVersion = version.Value;
            _desired.Writer.TryWrite(new DesiredPropertiesUpdate(version.Value, patch, IsFullDocument: false));
        }
    }

    private void OnTwinFetched(TwinProperties twin)
    {
        lock (_desiredLock)
        {
            var version = twin.DesiredVersion;
            if (version <= _desiredVersion)
            {
                return;
            }

            if (_desiredVersion >= 0)
            {
                Log.IoTHubDesiredMovedWhileOffline(_logger, _desiredVersion, version);
            }

            _desiredVersion = version;
            _desired.Writer.TryWrite(new DesiredPropertiesUpdate(version, twin.Desired, IsFullDocument: true));
        }
    }

    private void RefetchTwinInBackground()
    {
        if (Interlocked.Exchange(ref _refetching, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var twin = await GetTwinCoreAsync(CancellationToken.None);
                if (twin.Succeeded)
                {
                    OnTwinFetched(twin.Twin!);
                }
                else
                {
                    // The next connect re-fetches anyway; dropping the link gets us there.
                    Log.IoTHubTwinRefetchFailed(_logger, twin.Error, twin.Message);
                    await DisconnectQuietlyAsync();
                }
            }
            finally
            {
                Volatile.Write(ref _refetching, 0);
            }
        });
    }
}
