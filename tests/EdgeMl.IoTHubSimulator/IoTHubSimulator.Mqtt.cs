using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeMl.IoTHubSimulator;

public sealed partial class IoTHubSimulator
{
    private const string IdentityItem = "iothub-identity";
    private int _twinRequests;

    /// <summary>Twin GET/PATCH requests received, answered or not.</summary>
    public int TwinRequests => Volatile.Read(ref _twinRequests);

    /// <summary>Parses <c>host/dev[/mod]/?query</c> or the same without <c>?</c>; ignores the host, requires api-version.</summary>
    public static bool TryParseUserName(string? userName, out string clientId, out Dictionary<string, string?> query)
    {
        clientId = "";
        query = [];
        if (string.IsNullOrEmpty(userName))
        {
            return false;
        }

        var q = userName.IndexOf('?', StringComparison.Ordinal);
        string path;
        if (q >= 0)
        {
            path = userName[..q];
            query = TopicBag.Parse(userName[(q + 1)..]);
        }
        else
        {
            var lastSlash = userName.TrimEnd('/').LastIndexOf('/');
            var last = lastSlash < 0 ? "" : userName.TrimEnd('/')[(lastSlash + 1)..];
            if (last.Contains('=', StringComparison.Ordinal))
            {
                path = userName[..lastSlash];
                query = TopicBag.Parse(last);
            }
            else
            {
                path = userName;
            }
        }

        var segments = path.Trim('/').Split('/');
        if (segments.Length is < 2 or > 3 || !query.ContainsKey("api-version"))
        {
            return false;
        }

        clientId = string.Join('/', segments[1..]);
        return true;
    }

    private Task OnValidatingConnectionAsync(ValidatingConnectionEventArgs e)
    {
        if (!_identities.TryGetValue(e.ClientId, out var identity))
        {
            e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            return Task.CompletedTask;
        }

        identity.ConnectAttempts++;
        identity.LastUserName = e.UserName;
        identity.LastPassword = e.Password;
        var refusal = Check(e, identity, out var code);
        identity.LastRefusal = refusal;
        if (refusal is null)
        {
            e.SessionItems[IdentityItem] = identity;
        }
        else
        {
            e.ReasonCode = code;
        }

        NotifyChanged();
        return Task.CompletedTask;
    }

    private string? Check(ValidatingConnectionEventArgs e, SimulatedIdentity identity, out MqttConnectReasonCode code)
    {
        code = MqttConnectReasonCode.NotAuthorized;
        if (!IsV311(e.ProtocolVersion))
        {
            code = MqttConnectReasonCode.UnsupportedProtocolVersion;
            return $"protocol {e.ProtocolVersion} (IoT Hub speaks MQTT 3.1.1)";
        }

        if (!TryParseUserName(e.UserName, out var userClientId, out _))
        {
            code = MqttConnectReasonCode.BadUserNameOrPassword;
            return $"malformed username '{e.UserName}' (expected host/device[/module]/?api-version=…)";
        }

        if (!string.Equals(userClientId, e.ClientId, StringComparison.Ordinal))
        {
            return $"username identity '{userClientId}' differs from client id '{e.ClientId}'";
        }

        if (identity.Thumbprint is { } thumbprint)
        {
            return string.Equals(e.ClientCertificate?.Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase)
                ? null
                : "no client certificate, or not the registered one";
        }

        var audience = $"{HubHostName}/devices/{identity.DeviceId}" + (identity.ModuleId is null ? "" : $"/modules/{identity.ModuleId}");
        return SasValidator.Validate(e.Password, audience, identity.PrimaryKey!, Time.GetUtcNow());
    }

    private Task OnClientConnectedAsync(ClientConnectedEventArgs e)
    {
        if (_identities.TryGetValue(e.ClientId, out var identity))
        {
            lock (identity.Subscriptions)
            {
                identity.Subscriptions.Clear();
            }

            identity.Connections++;
            identity.IsConnected = true;
        }

        NotifyChanged();
        return Task.CompletedTask;
    }

    private Task OnClientDisconnectedAsync(ClientDisconnectedEventArgs e)
    {
        // A takeover (second CONNECT for the identity) disconnects the old one after the new one connected.
        if (e.DisconnectType != MqttClientDisconnectType.Takeover && _identities.TryGetValue(e.ClientId, out var identity))
        {
            identity.IsConnected = false;
        }

        NotifyChanged();
        return Task.CompletedTask;
    }

    private static readonly string[] FixedFilters = ["$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#"];

    private Task OnInterceptingSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        if (!_identities.TryGetValue(e.ClientId, out var identity))
        {
            e.ProcessSubscription = false;
            e.CloseConnection = true;
            return Task.CompletedTask;
        }

        var filter = e.TopicFilter.Topic;
        var prefix = identity.ModuleId is null ? $"devices/{identity.DeviceId}/messages/devicebound/" : $"devices/{identity.DeviceId}/modules/{identity.ModuleId}/";
        var allowed = FixedFilters.Contains(filter) || (filter.StartsWith(prefix, StringComparison.Ordinal) && filter.EndsWith('#'));
        if (!allowed)
        {
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.UnspecifiedError;
            return Task.CompletedTask;
        }

        if (e.TopicFilter.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            // IoT Hub grants QoS 1 to a QoS 2 subscription.
            e.TopicFilter.QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce;
            e.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
        }

        lock (identity.Subscriptions)
        {
            identity.Subscriptions.Add(filter);
        }

        NotifyChanged();
        return Task.CompletedTask;
    }

    private async Task OnInterceptingPublishAsync(InterceptingPublishEventArgs e)
    {
        // Nothing a device publishes is routed to other MQTT clients.
        e.ProcessPublish = false;
        var message = e.ApplicationMessage;
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            QoS2Refusals++;
            e.CloseConnection = true;
            NotifyChanged();
            return;
        }

        if (!_identities.TryGetValue(e.ClientId, out var identity))
        {
            e.CloseConnection = true;
            return;
        }

        var topic = message.Topic;
        var body = message.Payload.IsEmpty ? [] : message.Payload.ToArray();
        if (topic.StartsWith("$iothub/twin/", StringComparison.Ordinal))
        {
            await OnTwinRequestAsync(identity, topic, body);
        }
        else if (topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal))
        {
            OnMethodResponse(topic, body);
        }
        else if (TryCapture(identity, topic, body, message.QualityOfServiceLevel))
        {
            NotifyChanged();
        }
        else
        {
            // IoT Hub closes the connection on a topic it does not know.
            e.CloseConnection = true;
        }
    }

    private async Task OnTwinRequestAsync(SimulatedIdentity identity, string topic, byte[] body)
    {
        Interlocked.Increment(ref _twinRequests);
        NotifyChanged();
        var q = topic.IndexOf('?', StringComparison.Ordinal);
        var query = q < 0 ? [] : TopicBag.Parse(topic[(q + 1)..]);
        var path = q < 0 ? topic : topic[..q];
        if (!query.TryGetValue("$rid", out var rid) || rid is null || TwinBehavior == TwinRequestBehavior.Ignore)
        {
            return;
        }

        if (TwinBehavior == TwinRequestBehavior.ServerError)
        {
            await RespondErrorAsync(identity, rid, 500, 500001, "Simulated server error.");
            return;
        }

        if (TwinBehavior == TwinRequestBehavior.MalformedBody)
        {
            await DeliverAsync(identity, $"$iothub/twin/res/200/?$rid={rid}", "{\"desired\":"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);
            return;
        }

        if (path == "$iothub/twin/GET/")
        {
            // The GET body is ignored (Node sends " ").
            var doc = identity.Twin.ToProperties(_options.IncludeMetadataInTwinGet);
            await DeliverAsync(identity, $"$iothub/twin/res/200/?$rid={rid}", Encoding.UTF8.GetBytes(doc.ToJsonString()), MqttQualityOfServiceLevel.AtMostOnce);
        }
        else if (path == "$iothub/twin/PATCH/properties/reported/")
        {
            JsonObject? patch;
            try
            {
                patch = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                patch = null;
            }

            if (patch is null)
            {
                await RespondErrorAsync(identity, rid, 400, 400004, "The reported-properties patch is not a JSON object.");
                return;
            }

            if (Encoding.UTF8.GetByteCount(patch.ToJsonString()) > 32 * 1024)
            {
                await RespondErrorAsync(identity, rid, 400, 400013, "The reported properties would exceed 32 KB.");
                return;
            }

            var version = identity.Twin.PatchReported(patch, Time.GetUtcNow());
            var suffix = EdgeHubMode ? "" : $"&$version={version}";
            await DeliverAsync(identity, $"$iothub/twin/res/204/?$rid={rid}{suffix}", ReadOnlyMemory<byte>.Empty, MqttQualityOfServiceLevel.AtMostOnce);
            NotifyChanged();
        }
        else
        {
            await RespondErrorAsync(identity, rid, 400, 400000, $"Unknown twin operation '{path}'.");
        }
    }

    private Task RespondErrorAsync(SimulatedIdentity identity, string rid, int status, int errorCode, string message)
    {
        // Always a JSON errorCode body: the Node SDK looks at the body, not the status (reference §3.4).
        var body = new JsonObject
        {
            ["errorCode"] = errorCode,
            ["trackingId"] = Guid.NewGuid().ToString("N"),
            ["message"] = message,
            ["timestampUtc"] = Time.GetUtcNow().ToString("O"),
        };
        return DeliverAsync(identity, $"$iothub/twin/res/{status}/?$rid={rid}", Encoding.UTF8.GetBytes(body.ToJsonString()), MqttQualityOfServiceLevel.AtMostOnce);
    }
}
