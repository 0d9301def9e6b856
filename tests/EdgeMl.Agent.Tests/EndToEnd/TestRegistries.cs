using EdgeMl.CloudSync.Registries;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>A registry opened by the registry kinds the agent composes, as an operator's tool would.</summary>
internal static class TestRegistries
{
    public static IModelRegistry Create(string target) =>
        new ServiceCollection().AddLogging().AddModelRegistries().BuildServiceProvider().GetRequiredService<IModelRegistryFactory>().Create(target);
}
