namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// A device-to-cloud message, a module output, or a message routed to a module input. System properties
/// travel as <c>$.ct</c>, <c>$.ce</c>, <c>$.mid</c>, <c>$.cid</c> in the topic's property bag.
/// </summary>
public sealed class IoTHubMessage
{
    public IoTHubMessage(ReadOnlyMemory<byte> body) => Body = body;

    public ReadOnlyMemory<byte> Body { get; }

    public string? ContentType { get; init; }

    public string? ContentEncoding { get; init; }

    public string? MessageId { get; init; }

    public string? CorrelationId { get; init; }

    /// <summary>Application properties (the bag's keys that do not start with <c>$.</c>).</summary>
    public IDictionary<string, string?> Properties { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>System properties this client does not model (<c>$.cdid</c>, <c>$.to</c>, …), as received.</summary>
    public IReadOnlyDictionary<string, string?> OtherSystemProperties { get; init; } = new Dictionary<string, string?>();

    /// <summary>For messages received on a module input: the input name.</summary>
    public string? InputName { get; init; }

    public static IoTHubMessage FromJson(string json, string? messageId = null) =>
        new(System.Text.Encoding.UTF8.GetBytes(json)) { ContentType = "application/json", ContentEncoding = "utf-8", MessageId = messageId };
}
