using EdgeMl.Agent.Diagnostics;
using EdgeMl.Agent.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Http;

internal static class HttpApiExtensions
{
    /// <summary>The protocol error shape and token check, then the Open Inference Protocol routes and <c>/metrics</c>.</summary>
    public static WebApplication UseHttpApi(this WebApplication app)
    {
        app.UseMiddleware<ProtocolErrorMiddleware>();
        ((IEndpointRouteBuilder)app).MapOpenInferenceProtocol();
        ((IEndpointRouteBuilder)app).MapDiagnosticsPage();
        app.MapGet("/metrics", (HttpContext context) =>
        {
            var text = context.RequestServices.GetRequiredService<PrometheusMetrics>().Scrape();
            return Results.Text(text, "text/plain; version=0.0.4; charset=utf-8");
        });
        return app;
    }

    public static IServiceCollection AddHttpApi(this IServiceCollection services)
    {
        services.AddSingleton<PrometheusMetrics>();
        return services;
    }
}
