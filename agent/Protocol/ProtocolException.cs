namespace EdgeMl.Agent.Protocol;

/// <summary>A request the protocol layer cannot accept; becomes <c>{"error": message}</c> with the status code.</summary>
internal sealed class ProtocolException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static ProtocolException BadRequest(string message) => new(400, message);
}
