using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Grpc;

internal static class GrpcApiExtensions
{
    /// <summary>The gRPC service on its own Kestrel (<see cref="GrpcServer"/>), a client of the same prediction pipeline as HTTP.</summary>
    public static IServiceCollection AddGrpcApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptionsWithValidateOnStart<GrpcApiOptions>().Bind(configuration.GetSection(GrpcApiOptions.Section));
        services.AddOptionsSection<GrpcApiOptions>(configuration.GetSection(GrpcApiOptions.Section), static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcApiOptions>, GrpcApiOptionsValidator>());
        services.TryAddSingleton<GrpcServer>();
        services.AddHostedService(sp => sp.GetRequiredService<GrpcServer>());
        return services;
    }
}
