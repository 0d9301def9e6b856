using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Metrics;

/// <summary>
/// The metrics port (9600, the IoT Edge convention) serves <c>/metrics</c> and nothing else, without a token, so
/// the IoT Edge metrics collector and Prometheus can scrape it while the API port stays behind its token.
/// </summary>
internal static class MetricsPort
{
    public static WebApplication UseMetricsPort(this WebApplication app, IEnumerable<string> metricsUrls)
    {
        var ports = metricsUrls.Select(u => new Uri(u).Port).ToHashSet();
        app.Use(async (context, next) =>
        {
            if (!ports.Contains(context.Connection.LocalPort))
            {
                await next(context);
                return;
            }

            if (context.Request.Path != "/metrics" || !HttpMethods.IsGet(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            var text = context.RequestServices.GetRequiredService<PrometheusMetrics>().Scrape();
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await context.Response.WriteAsync(text, context.RequestAborted);
        });
        return app;
    }
}
