using System.Security.Cryptography;
using System.Text;
using EdgeMl.Agent.Http;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// The HTTP API's gate, said in gRPC: nothing is served before the agent's addresses passed their check
/// (UNAVAILABLE), a Host (<c>:authority</c>) the agent does not answer to is refused (PERMISSION_DENIED, against DNS
/// rebinding), and every method but <c>ServerLive</c> and <c>ServerReady</c> (the health probes, exempt over HTTP too)
/// needs the bearer token in the <c>authorization</c> metadata (UNAUTHENTICATED).
/// </summary>
internal sealed class GrpcGate(GrpcFrontDoor door) : Interceptor
{
    private readonly byte[]? _expected = door.Http.Token is { Length: > 0 } token ? Encoding.UTF8.GetBytes("Bearer " + token) : null;
    private readonly LocalCallers _callers = new(door.Http.AllowedHosts);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(request, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (door.HttpAddresses is { Passed: false })
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the agent is starting"));
        }

        var request = context.GetHttpContext().Request;
        var host = LocalCallers.HostPart(request.Host.Value);
        if (host.Length > 0 && !_callers.IsAllowedHost(host))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"this agent does not answer to the host name '{host}'; callers use localhost or an IP address, or the name is added to EdgeMl:Http:AllowedHosts"));
        }

        // From the HTTP/2 headers themselves: ServerCallContext.RequestHeaders would build a Metadata of every header on each call.
        if (_expected is not null && !IsHealth(context.Method) && !HasToken(request.Headers.Authorization is { Count: 1 } authorization ? authorization[0] : null))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "a bearer token is required (metadata authorization: Bearer …)"));
        }
    }

    private static bool IsHealth(string method) =>
        method is "/inference.GRPCInferenceService/ServerLive" or "/inference.GRPCInferenceService/ServerReady";

    /// <summary>Compared in constant time, as over HTTP.</summary>
    private bool HasToken(string? authorization)
    {
        var given = authorization is { Length: <= 1024 } ? Encoding.UTF8.GetBytes(authorization) : [];
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }
}
