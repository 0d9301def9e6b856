using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Gpio;
using EdgeMl.Agent.Grpc;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Methods;
using EdgeMl.Agent.Probation;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Telemetry;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Hosting;

/// <summary>Composition of the agent: each folder registers its own feature; the order is the order the hosted services start in.</summary>
internal static class AgentServiceCollectionExtensions
{
    public static IServiceCollection AddAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddAgentOptions(configuration);
        services.AddModelSync(configuration);
        services.AddProbation();
        services.AddHttpApi(configuration);
        services.AddGrpcApi(configuration);
        services.AddServing();
        services.AddAgentGpio(configuration);
        services.AddCaptureWithUpload(configuration);
        services.AddDesiredState();
        services.AddMqttHealthReporting(configuration);
        services.AddEdgeHub(configuration);
        services.AddHealthReporting();
        services.AddDirectMethods();
        services.AddMemoryRelease();
        return services;
    }

    /// <summary>The agent's own options (<c>EdgeMl</c>), the clock, the configuration and metrics every feature shares.</summary>
    public static IServiceCollection AddAgentOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(configuration); // the host registers it already; a bare container (tests, tools) needs it too
        services.AddMetrics();
        services.AddTelemetry(configuration);
        services.AddOptionsWithValidateOnStart<AgentOptions>().Bind(configuration.GetSection(AgentOptions.Section));
        services.AddOptionsSection<AgentOptions>(configuration.GetSection(AgentOptions.Section), static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsRules>());
        return services;
    }

    /// <summary>What starting and loading models leave behind, given back to the device once they settle (<see cref="MemoryRelease"/>).</summary>
    public static IServiceCollection AddMemoryRelease(this IServiceCollection services) => services.AddHostedService<MemoryRelease>();

    /// <summary>The agent's own endpoints beside the Open Inference Protocol.</summary>
    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app) => app.MapHealthApi().MapSupportBundle();
}
