using System.Text.Json.Nodes;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// The IoT Plug and Play acknowledgement of a writable (desired) property, reported back as
/// <c>{"name":{"value":…,"ac":200,"av":12,"ad":"…"}}</c>.
/// </summary>
public static class WritablePropertyResponse
{
    /// <param name="value">The value now in effect.</param>
    /// <param name="ackCode">HTTP-like status: 200 applied, 202 in progress, 400 refused, 500 failed.</param>
    /// <param name="ackVersion">The desired <c>$version</c> this answers.</param>
    /// <param name="description">Why, for people.</param>
    public static JsonObject Create(JsonNode? value, int ackCode, long ackVersion, string? description = null)
    {
        var ack = new JsonObject
        {
            ["value"] = value?.DeepClone(),
            ["ac"] = ackCode,
            ["av"] = ackVersion,
        };
        if (description is not null)
        {
            ack["ad"] = description;
        }

        return ack;
    }

    /// <summary>A reported patch acknowledging one property.</summary>
    public static JsonObject Patch(string name, JsonNode? value, int ackCode, long ackVersion, string? description = null) =>
        new() { [name] = Create(value, ackCode, ackVersion, description) };
}
