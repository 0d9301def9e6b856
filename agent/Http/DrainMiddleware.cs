using System.Globalization;
using EdgeMl.Agent.Protocol;
using EdgeMl.Agent.Serving;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Http;

/// <summary>
/// Counts the API's requests in and out for the stop, and once the drain window is over answers new ones 503 with
/// <c>Retry-After</c> and <c>Connection: close</c> (a client on a kept-alive connection then reconnects, possibly
/// elsewhere). Health probes pass untouched: they must keep telling the truth while the agent stops.
/// </summary>
internal sealed class DrainMiddleware(RequestDelegate next, ShutdownDrain drain, ServingMetrics metrics)
{
    private static readonly string RetryAfter = ((int)ShutdownDrain.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/v2/health"))
        {
            await next(context);
            return;
        }

        if (!drain.TryEnter())
        {
            metrics.Refused();
            var body = InferResponseWriter.Error($"the agent is shutting down; try again in {RetryAfter} s");
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = RetryAfter;
            context.Response.Headers.Connection = "close";
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            drain.Exit();
        }
    }
}
