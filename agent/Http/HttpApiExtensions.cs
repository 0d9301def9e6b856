using EdgeMl.Agent.Diagnostics;
using EdgeMl.Agent.Sequences;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

internal static class HttpApiExtensions
{
    /// <summary>The gate (bound addresses, local callers, token, the stop's drain) and the protocol's error shape, then the Open Inference Protocol routes and <c>/metrics</c>.</summary>
    public static WebApplication UseHttpApi(this WebApplication app)
    {
        app.UseMiddleware<ApiGate>();
        ((IEndpointRouteBuilder)app).MapOpenInferenceProtocol();
        ((IEndpointRouteBuilder)app).MapDiagnosticsPage();
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.UseCollectorText(), optionsName: null);
        return app;
    }

    /// <summary>The API with its options from <c>EdgeMl:Http</c>, validated at start.</summary>
    public static IServiceCollection AddHttpApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsWithValidateOnStart<HttpApiOptions>().Bind(configuration.GetSection(HttpApiOptions.Section));
        services.AddOptionsSection<HttpApiOptions>(configuration.GetSection(HttpApiOptions.Section), static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpApiOptions>, HttpApiOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpApiOptions>, HttpApiOptionsRules>());
        return services.AddHttpApi();
    }

    public static IServiceCollection AddHttpApi(this IServiceCollection services)
    {
        // After Kestrel's own registration (the host builder makes it first), so its socket transport takes these pools.
        services.AddSingleton<IMemoryPoolFactory<byte>, ConnectionMemoryPoolFactory>();
        services.AddTelemetry();
        services.TryAddSingleton<BoundAddressCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<BoundAddressCheck>());
        services.AddSequences();

        // The gate counts requests for the stop's drain. Only a host that stops as the agent does runs the drain
        // (AddShutdownDrain); in any other, the drain is never started, so it counts and refuses nothing.
        services.TryAddSingleton<ShutdownDrain>();
        services.TryAddSingleton<ServingMetrics>();
        return services.AddPredictionPipeline();
    }
}
