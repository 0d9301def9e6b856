using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sequences;

internal static class SequenceServiceCollectionExtensions
{
    /// <summary>The sequences every front door shares (<see cref="SequenceStore"/>), set from <c>EdgeMl:Sequences</c>.</summary>
    public static IServiceCollection AddSequences(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddOptionsWithValidateOnStart<SequenceOptions>().BindConfiguration(SequenceOptions.Section);
        services.AddOptionsSection<SequenceOptions>(SequenceOptions.Section, static (c, o) => c.Bind(o));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SequenceOptions>, SequenceOptionsValidator>());
        services.TryAddSingleton<SequenceStore>();
        return services;
    }
}
