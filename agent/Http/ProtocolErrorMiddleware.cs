using EdgeMl.Agent.Protocol;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Http;

/// <summary>
/// Every error leaves as <c>{"error": message}</c> with application/json, which is all Triton and KServe
/// clients read; the bearer token is checked here too, for every path but health and anonymous endpoints.
/// </summary>
internal sealed class ProtocolErrorMiddleware(RequestDelegate next, Microsoft.Extensions.Options.IOptions<HttpApiOptions> options)
{
    private readonly string? _expected = options.Value.Token is { Length: > 0 } token ? "Bearer " + token : null;
    private readonly long _maxBody = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        // Endpoints marked AllowAnonymous (the diagnostics page, which holds no data) are served without it.
        if (_expected is not null && !context.Request.Path.StartsWithSegments("/v2/health")
            && context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null
            && !string.Equals(context.Request.Headers.Authorization.ToString(), _expected, StringComparison.Ordinal))
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
            // Kestrel's own limit (the same number) caught a body sent without a length first.
            await Write(context, 413, ProtocolException.TooLarge(_maxBody).Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
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
