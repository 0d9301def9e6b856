using System.Text;
using System.Text.Json.Nodes;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>A direct method call. The payload is JSON (the client answers 400 to anything else before calling a handler).</summary>
public sealed record DirectMethodRequest(string Name, ReadOnlyMemory<byte> Payload)
{
    public JsonNode? PayloadJson => Payload.IsEmpty ? null : JsonNode.Parse(Payload.Span);

    public string PayloadText => Encoding.UTF8.GetString(Payload.Span);
}

/// <summary>The handler's answer: any status the module chooses, and an optional JSON payload.</summary>
public sealed record DirectMethodResponse(int Status, JsonNode? Payload = null)
{
    public static DirectMethodResponse Ok(JsonNode? payload = null) => new(200, payload);
}

public delegate Task<DirectMethodResponse> DirectMethodHandler(DirectMethodRequest request, CancellationToken cancellationToken);

public delegate Task InputMessageHandler(IoTHubMessage message, CancellationToken cancellationToken);
