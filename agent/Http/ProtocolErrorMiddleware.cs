using System.Security.Cryptography;
using System.Text;
using EdgeMl.Agent.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>
/// Every error leaves as <c>{"error": message}</c> with application/json, which is all Triton and KServe
/// clients read. The gate is here too: nothing is served before <see cref="BoundAddressCheck"/> has passed the
/// addresses Kestrel bound, then <see cref="LocalCallers"/> turns away foreign hosts, origins and body types, and
/// the bearer token is checked for every path but health and anonymous endpoints.
/// </summary>
internal sealed class ProtocolErrorMiddleware(RequestDelegate next, IOptions<HttpApiOptions> options, BoundAddressCheck addresses)
{
    private readonly byte[]? _expected = options.Value.Token is { Length: > 0 } token ? Encoding.UTF8.GetBytes("Bearer " + token) : null;
    private readonly LocalCallers _callers = new(options.Value.AllowedHosts);
    private readonly long _maxBody = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!addresses.Passed)
        {
            await Write(context, 503, "the agent is starting");
            return;
        }

        if (_callers.Check(context.Request) is { } refusal)
        {
            await Write(context, refusal.Status, refusal.Message);
            return;
        }

        // Endpoints marked AllowAnonymous (the diagnostics page, which holds no data) are served without it.
        if (_expected is not null && !context.Request.Path.StartsWithSegments("/v2/health")
            && context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null
            && !HasToken(context.Request.Headers.Authorization.ToString()))
        {
            await Write(context, 401, "a bearer token is required (Authorization: Bearer …)", ("WWW-Authenticate", "Bearer"));
            return;
        }

        try
        {
            await next(context);
            if (context.Response.StatusCode is 404 or 405 && !context.Response.HasStarted && context.Response.ContentLength is null)
            {
                await Write(context, context.Response.StatusCode, context.Response.StatusCode == 404 ? "Not Found" : "Method Not Allowed");
            }
        }
        catch (ProtocolException e) when (!context.Response.HasStarted)
        {
            await Write(context, e.StatusCode, e.Message, e.StatusCode == 501 ? ("Accept-Encoding", "gzip, deflate") : null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413 && !context.Response.HasStarted)
        {
            // Kestrel's own limit (above the API's, HttpApiOptions.KestrelLimit) caught a body first.
            await Write(context, 413, ProtocolException.TooLarge(_maxBody).Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
    }

    /// <summary>Compared in constant time, so the time of a refusal tells nothing about how much of a guess was right.</summary>
    private bool HasToken(string authorization)
    {
        var given = authorization.Length <= 1024 ? Encoding.UTF8.GetBytes(authorization) : [];
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }

    private static async Task Write(HttpContext context, int status, string message, (string Name, string Value)? header = null)
    {
        var body = InferResponseWriter.Error(message);
        context.Response.Clear();
        if (header is { } h)
        {
            context.Response.Headers[h.Name] = h.Value;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }
}
