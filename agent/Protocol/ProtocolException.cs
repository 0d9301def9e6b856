using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>A request the protocol layer cannot accept; becomes <c>{"error": message}</c> with the status code.</summary>
internal sealed class ProtocolException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static ProtocolException BadRequest(string message) => new(400, message);

    /// <summary>The engine's refusal as every front door answers it (HTTP status; the edgeHub route's status property).</summary>
    public static ProtocolException Of(InferenceError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(StatusOf(error.Kind), error.Message);
    }

    public static int StatusOf(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidInput or InferenceErrorKind.Canceled => 400,
        InferenceErrorKind.ModelNotFound => 404,
        InferenceErrorKind.NotReady or InferenceErrorKind.Overloaded => 503,
        _ => 500,
    };

    /// <summary>413, in Triton's words for the same limit, so clients that match on the text still do.</summary>
    public static ProtocolException TooLarge(long limit, long? length = null) =>
        new(413, $"request body{(length is { } l ? $" of {l} bytes" : "")} exceeds the maximum allowed input size of {limit} bytes");
}
