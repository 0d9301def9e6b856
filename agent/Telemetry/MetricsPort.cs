using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// The metrics port (9600, the IoT Edge convention) serves <c>/metrics</c> and nothing else, without a token, so
/// the IoT Edge metrics collector and Prometheus can scrape it while the API port stays behind its token.
/// </summary>
internal static class MetricsPort
{
    public static WebApplication UseMetricsPort(this WebApplication app, IReadOnlySet<int> ports)
    {
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => ports.Contains(context.Connection.LocalPort),
            path: null,
            configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                if (context.Request.Path != "/metrics" || !HttpMethods.IsGet(context.Request.Method))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                await next(context);
            }).UseCollectorText(),
            optionsName: null);
        return app;
    }
}
