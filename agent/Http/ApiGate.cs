using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using EdgeMl.Agent.Protocol;
using EdgeMl.Agent.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>
/// What every request of the API passes through, in one frame (<see cref="PooledFrames"/>: each frame of a request
/// that waits costs an object). The gate: nothing is served before <see cref="BoundAddressCheck"/> has passed the addresses
/// Kestrel bound, then <see cref="LocalCallers"/> turns away foreign hosts, origins and body types, and the bearer
/// token is checked for every path but health and anonymous endpoints. The stop: requests are counted in and out for
/// <see cref="ShutdownDrain"/>, and once its drain window is over new ones are answered 503 with <c>Retry-After</c> and
/// <c>Connection: close</c> (a client on a kept-alive connection then reconnects, possibly elsewhere); health probes
/// are not counted or refused, as they must keep telling the truth while the agent stops. The errors: every one leaves
/// as <c>{"error": message}</c> with application/json, which is all Triton and KServe clients read.
/// </summary>
internal sealed class ApiGate(RequestDelegate next, IOptions<HttpApiOptions> options, BoundAddressCheck addresses, ShutdownDrain drain, ServingMetrics metrics)
{
    private static readonly string RetryAfter = ((int)ShutdownDrain.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private readonly byte[]? _expected = options.Value.Token is { Length: > 0 } token ? Encoding.UTF8.GetBytes("Bearer " + token) : null;
    private readonly LocalCallers _callers = new(options.Value.AllowedHosts);
    private readonly long _maxBody = options.Value.MaxRequestBodyBytes;

    public Task InvokeAsync(HttpContext context) => PooledFrames.AsTask(GateAsync(context));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask GateAsync(HttpContext context)
    {
        var health = context.Request.Path.StartsWithSegments("/v2/health");
        if (!health && !drain.TryEnter())
        {
            metrics.Refused();
            context.Response.Headers.RetryAfter = RetryAfter;
            context.Response.Headers.Connection = "close";
            await Write(context, 503, $"the agent is shutting down; try again in {RetryAfter} s", clear: false);
            return;
        }

        try
        {
            if (Refusal(context, health) is { } refusal)
            {
                await Write(context, refusal.Status, refusal.Message, header: refusal.Header);
                return;
            }

            await next(context);
            if (context.Response.StatusCode is 404 or 405 && !context.Response.HasStarted && context.Response.ContentLength is null)
            {
                await Write(context, context.Response.StatusCode, context.Response.StatusCode == 404 ? "Not Found" : "Method Not Allowed");
            }
        }
        catch (ProtocolException e) when (!context.Response.HasStarted)
        {
            await Write(context, e.StatusCode, e.Message, header: e.StatusCode == 501 ? ("Accept-Encoding", "gzip, deflate") : null);
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
        finally
        {
            if (!health)
            {
                drain.Exit();
            }
        }
    }

    /// <summary>Why the gate turns the request away, or null to serve it.</summary>
    private (int Status, string Message, (string Name, string Value)? Header)? Refusal(HttpContext context, bool health)
    {
        if (!addresses.Passed)
        {
            return (503, "the agent is starting", null);
        }

        if (_callers.Check(context.Request) is { } refusal)
        {
            return (refusal.Status, refusal.Message, null);
        }

        // Endpoints marked AllowAnonymous (the diagnostics page, which holds no data) are served without it.
        if (_expected is not null && !health
            && context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null
            && !HasToken(context.Request.Headers.Authorization.ToString()))
        {
            return (401, "a bearer token is required (Authorization: Bearer …)", ("WWW-Authenticate", "Bearer"));
        }

        return null;
    }

    /// <summary>Compared in constant time, so the time of a refusal tells nothing about how much of a guess was right.</summary>
    private bool HasToken(string authorization)
    {
        var given = authorization.Length <= 1024 ? Encoding.UTF8.GetBytes(authorization) : [];
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }

    private static async Task Write(HttpContext context, int status, string message, (string Name, string Value)? header = null, bool clear = true)
    {
        var body = InferResponseWriter.Error(message);
        if (clear)
        {
            context.Response.Clear();
        }

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
