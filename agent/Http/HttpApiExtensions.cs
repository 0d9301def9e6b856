using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Diagnostics;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Metrics;
using EdgeMl.Agent.Serving;
using EdgeMl.Runtime.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Http;

internal static class HttpApiExtensions
{
    /// <summary>The protocol error shape and the gate (bound addresses, local callers, token), then the Open Inference Protocol routes and <c>/metrics</c>.</summary>
    public static WebApplication UseHttpApi(this WebApplication app)
    {
        if (app.Services.GetService<ShutdownDrain>() is not null)
        {
            app.UseMiddleware<DrainMiddleware>();
        }

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
        services.TryAddSingleton<PrometheusMetrics>();
        services.TryAddSingleton<ServingReadiness>();
        services.TryAddSingleton<BoundAddressCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<BoundAddressCheck>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PredictionPipeline(
            sp.GetRequiredService<InferenceEngine>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<CaptureRecorder>(), sp.GetService<DriftRegistry>()));
        return services;
    }
}
