using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeMl.Runtime;

public static class RuntimeServiceCollectionExtensions
{
    /// <summary>The inference engine, its model loader and metrics (the host provides <c>IMeterFactory</c>).</summary>
    public static IServiceCollection AddEdgeMlRuntime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelLoader>();
        services.TryAddSingleton<RuntimeMetrics>();
        services.TryAddSingleton<InferenceEngine>();
        return services;
    }
}
