using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Agent.Methods;

internal static class MethodsServiceCollectionExtensions
{
    /// <summary>The direct methods (model control, health, support bundle), registered with the hub when there is one.</summary>
    public static IServiceCollection AddDirectMethods(this IServiceCollection services)
    {
        services.TryAddSingleton<SupportBundle>();
        services.TryAddSingleton<ModelMethods>();
        services.AddHostedService<DirectMethodRegistration>();
        return services;
    }

    /// <summary><c>GET /api/support-bundle</c>: the bundle the direct method returns, behind the API's bearer token.</summary>
    public static IEndpointRouteBuilder MapSupportBundle(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/support-bundle", (SupportBundle bundle) => Results.Text(bundle.Build().ToJsonString(), "application/json"));
        return endpoints;
    }
}
