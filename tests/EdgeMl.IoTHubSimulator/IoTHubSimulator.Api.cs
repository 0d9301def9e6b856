using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet.Protocol;

namespace EdgeMl.IoTHubSimulator;

/// <summary>A message a device or module sent, with its property bag decoded.</summary>
public sealed record CapturedMessage(
    string IdentityKey,
    string Topic,
    byte[] Body,
    IReadOnlyDictionary<string, string?> SystemProperties,
    IReadOnlyDictionary<string, string?> ApplicationProperties,
    MqttQualityOfServiceLevel QoS)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? OutputName => SystemProperties.GetValueOrDefault("$.on");
}

public sealed record MethodInvocationResult(int Status, string? Payload);

public sealed partial class IoTHubSimulator
{
    private readonly List<CapturedMessage> _messages = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource<MethodInvocationResult>> _methodCalls = new(StringComparer.Ordinal);
    private int _methodRid;

    public IReadOnlyList<CapturedMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Merges a desired patch, bumps <c>$version</c>, and pushes it to the identity if it is connected and subscribed.</summary>
    public async Task<long> UpdateDesiredAsync(SimulatedIdentity identity, JsonObject patch)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(patch);
        var version = identity.Twin.PatchDesired(patch, Time.GetUtcNow());
        if (IsSubscribed(identity, "$iothub/twin/PATCH/properties/desired/#"))
        {
            var body = (JsonObject)patch.DeepClone();
            body["$version"] = version;
            await DeliverAsync(identity, $"$iothub/twin/PATCH/properties/desired/?$version={version}", Encoding.UTF8.GetBytes(body.ToJsonString()), MqttQualityOfServiceLevel.AtMostOnce);
        }

        NotifyChanged();
        return version;
    }

    /// <summary>
    /// The identities whose twin tag <paramref name="tag"/> equals <paramref name="value"/>: the target condition
    /// <c>tags.{tag}='{value}'</c> of an automatic device or module configuration.
    /// </summary>
    public IReadOnlyList<SimulatedIdentity> WhereTag(string tag, string value) =>
        [.. _identities.Values.Where(i => i.Twin.Tags[tag] is JsonValue v && v.TryGetValue<string>(out var s) && s == value).OrderBy(i => i.Key, StringComparer.Ordinal)];

    /// <summary>Pushes raw bytes on the desired topic (no twin change): for malformed-patch tests.</summary>
    public Task PushRawDesiredAsync(SimulatedIdentity identity, long version, byte[] body) =>
        DeliverAsync(identity, $"$iothub/twin/PATCH/properties/desired/?$version={version}", body, MqttQualityOfServiceLevel.AtMostOnce);

    public Task<MethodInvocationResult> InvokeMethodAsync(SimulatedIdentity identity, string method, JsonNode? payload, TimeSpan timeout) =>
        InvokeMethodRawAsync(identity, method, payload is null ? Encoding.UTF8.GetBytes("null") : Encoding.UTF8.GetBytes(payload.ToJsonString()), timeout);

    /// <summary>Calls a direct method: 404 when the identity is offline or not listening, 504 when it does not answer in time.</summary>
    public async Task<MethodInvocationResult> InvokeMethodRawAsync(SimulatedIdentity identity, string method, byte[] payload, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (!identity.IsConnected || !IsSubscribed(identity, "$iothub/methods/POST/#"))
        {
            return new MethodInvocationResult(404, """{"errorCode":404103,"message":"Timed out waiting for device to connect."}""");
        }

        var rid = Interlocked.Increment(ref _methodRid).ToString("x", CultureInfo.InvariantCulture);
        var tcs = new TaskCompletionSource<MethodInvocationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _methodCalls[rid] = tcs;
        try
        {
            await DeliverAsync(identity, $"$iothub/methods/POST/{method}/?$rid={rid}", payload, MqttQualityOfServiceLevel.AtMostOnce);
            return await tcs.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return new MethodInvocationResult(504, """{"errorCode":504101,"message":"Timed out waiting for the response from device."}""");
        }
        finally
        {
            _methodCalls.TryRemove(rid, out _);
        }
    }

    private void OnMethodResponse(string topic, byte[] body)
    {
        // $iothub/methods/res/{status}/?$rid={rid}
        var rest = topic["$iothub/methods/res/".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !int.TryParse(rest[..slash], NumberStyles.Integer, CultureInfo.InvariantCulture, out var status))
        {
            return;
        }

        var query = TopicBag.Parse(rest[(slash + 1)..].TrimStart('?'));
        if (query.TryGetValue("$rid", out var rid) && rid is not null && _methodCalls.TryRemove(rid, out var tcs))
        {
            tcs.TrySetResult(new MethodInvocationResult(status, body.Length == 0 ? null : Encoding.UTF8.GetString(body)));
        }
    }

    private void FailPendingMethods()
    {
        foreach (var rid in _methodCalls.Keys)
        {
            if (_methodCalls.TryRemove(rid, out var tcs))
            {
                tcs.TrySetResult(new MethodInvocationResult(404, """{"errorCode":404103,"message":"The device disconnected."}"""));
            }
        }
    }

    /// <summary>Routes a message to a module input (<c>devices/{d}/modules/{m}/inputs/{input}/{bag}</c>), as edgeHub does.</summary>
    public Task SendToModuleInputAsync(SimulatedIdentity module, string input, byte[] body, IEnumerable<KeyValuePair<string, string?>>? properties = null, string? rawBag = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var bag = rawBag ?? TopicBag.Format(properties ?? []);
        return DeliverAsync(module, $"devices/{module.DeviceId}/modules/{module.ModuleId}/inputs/{input}/{bag}", body, MqttQualityOfServiceLevel.AtLeastOnce);
    }

    public Task WaitForMessagesAsync(SimulatedIdentity identity, int count, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return WaitForAsync(() => Messages.Count(m => m.IdentityKey == identity.Key) >= count, timeout, $"{count} message(s) from {identity.Key}");
    }

    public Task WaitForConnectionsAsync(SimulatedIdentity identity, int connections, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return WaitForAsync(() => identity.Connections >= connections && identity.IsConnected, timeout, $"connection #{connections} of {identity.Key}");
    }

    private static bool IsSubscribed(SimulatedIdentity identity, string filter)
    {
        lock (identity.Subscriptions)
        {
            return identity.IsConnected && identity.Subscriptions.Contains(filter);
        }
    }

    private bool TryCapture(SimulatedIdentity identity, string topic, byte[] body, MqttQualityOfServiceLevel qos)
    {
        var prefix = identity.ModuleId is null
            ? $"devices/{identity.DeviceId}/messages/events"
            : $"devices/{identity.DeviceId}/modules/{identity.ModuleId}/messages/events";
        if (!topic.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // Accept …/events, …/events/, …/events/{bag} and …/events/{bag}/ (edgeHub's templates).
        var bag = topic[prefix.Length..].TrimStart('/');
        Dictionary<string, string?> all;
        try
        {
            all = TopicBag.Parse(bag);
        }
        catch (UriFormatException)
        {
            return false;
        }

        var system = all.Where(p => p.Key.StartsWith("$.", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
        var app = all.Where(p => !p.Key.StartsWith("$.", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
        identity.Traffic.CountDeviceToCloud();
        lock (_messages)
        {
            _messages.Add(new CapturedMessage(identity.Key, topic, body, system, app, qos));
        }

        return true;
    }
}
