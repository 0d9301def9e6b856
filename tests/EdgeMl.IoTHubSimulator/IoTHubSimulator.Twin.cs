using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet.Protocol;

namespace EdgeMl.IoTHubSimulator;

/// <summary>Twin GET and reported PATCH, answered on <c>$iothub/twin/res/{status}/?$rid=…</c>.</summary>
public sealed partial class IoTHubSimulator
{
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
            identity.Traffic.CountTwinGet();
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

            if (InvalidTwinKey(patch, 1) is { } problem)
            {
                await RespondErrorAsync(identity, rid, 400, 400005, problem);
                return;
            }

            if (Encoding.UTF8.GetByteCount(patch.ToJsonString()) > 32 * 1024)
            {
                await RespondErrorAsync(identity, rid, 400, 400013, "The reported properties would exceed 32 KB.");
                return;
            }

            identity.Traffic.CountReportedPatch();
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

    /// <summary>Twin key rules: no control characters, '.', '$' or space; at most 10 levels of objects.</summary>
    private static string? InvalidTwinKey(JsonObject obj, int depth)
    {
        if (depth > 10)
        {
            return "The patch nests objects deeper than 10 levels.";
        }

        foreach (var (key, value) in obj)
        {
            if (key.Length == 0 || key.Any(c => char.IsControl(c) || c is '.' or '$' or ' '))
            {
                return $"The property name '{key}' is not allowed (no '.', '$', space or control characters).";
            }

            if (value is JsonObject child && InvalidTwinKey(child, depth + 1) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }
}
