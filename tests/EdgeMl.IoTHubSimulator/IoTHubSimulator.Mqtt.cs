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
    private const string ExpiryItem = "iothub-token-expiry";
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
        identity.LastKeepAlive = e.KeepAlivePeriod is { } keepAlive ? TimeSpan.FromSeconds(keepAlive) : null;
        identity.LastCleanSession = e.CleanSession;
        var refusal = Check(e, identity, out var code);
        identity.LastRefusal = refusal;
        if (refusal is null)
        {
            e.SessionItems[IdentityItem] = identity;
            e.SessionItems[ExpiryItem] = TokenExpiry(e.Password);
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
            identity.Traffic.CountConnection();
            identity.LastConnectedAt = Time.GetUtcNow();
            identity.IsConnected = true;
            identity.ExpiryTimer?.Dispose();
            identity.ExpiryTimer = null;
            if (e.SessionItems[ExpiryItem] is DateTimeOffset expires)
            {
                // IoT Hub closes a SAS connection when its token expires; clients must renew before then.
                var connection = identity.Connections;
                var due = expires - Time.GetUtcNow();
                identity.ExpiryTimer = Time.CreateTimer(_ => _ = DropExpiredAsync(identity, connection), null,
                    due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
            }
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
            // IoT Hub allows at most 5 subscriptions at a time.
            if (identity.Subscriptions.Count >= 5 && !identity.Subscriptions.Contains(filter))
            {
                e.ProcessSubscription = false;
                e.Response.ReasonCode = MqttSubscribeReasonCode.QuotaExceeded;
                return Task.CompletedTask;
            }

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

    private static DateTimeOffset? TokenExpiry(string? password)
    {
        var at = password?.IndexOf("se=", StringComparison.Ordinal) ?? -1;
        if (at < 0)
        {
            return null;
        }

        var end = password!.IndexOf('&', at);
        var text = end < 0 ? password[(at + 3)..] : password[(at + 3)..end];
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var se)
            ? DateTimeOffset.FromUnixTimeSeconds(se)
            : null;
    }

    private async Task DropExpiredAsync(SimulatedIdentity identity, int connection)
    {
        if (_server is { } server && identity.IsConnected && identity.Connections == connection)
        {
            identity.ExpiredDrops++;
            await server.DisconnectClientAsync(identity.Key, new MqttServerFactory().CreateMqttServerClientDisconnectOptionsBuilder().Build());
            NotifyChanged();
        }
    }
}
