namespace EdgeMl.Agent.Protocol;

/// <summary>A request the protocol layer cannot accept; becomes <c>{"error": message}</c> with the status code.</summary>
internal sealed class ProtocolException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static ProtocolException BadRequest(string message) => new(400, message);

    /// <summary>413, in Triton's words for the same limit, so clients that match on the text still do.</summary>
    public static ProtocolException TooLarge(long limit, long? length = null) =>
        new(413, $"request body{(length is { } l ? $" of {l} bytes" : "")} exceeds the maximum allowed input size of {limit} bytes");
}
