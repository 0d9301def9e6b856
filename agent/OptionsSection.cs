using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent;

/// <summary>
/// Where a settings type is bound, registered beside its binding and validators, so the start-up check
/// (<c>AgentHost.Validate</c>) reports every registered section by name, and only those the host registered.
/// </summary>
/// <param name="Alone">Whether the section can be bound and checked on its own when a section it depends on is invalid.</param>
internal sealed record OptionsSection(Type Options, string Path, bool Alone);

internal static class OptionsSectionExtensions
{
    public static IServiceCollection AddOptionsSection<T>(this IServiceCollection services, IConfigurationSection section, bool alone = true)
        where T : class, new() =>
        services.AddOptionsSection<T>(section.Path, alone);

    public static IServiceCollection AddOptionsSection<T>(this IServiceCollection services, string path, bool alone = true)
        where T : class, new() =>
        services.AddSingleton(new OptionsSection(typeof(T), path, alone));
}
