using System.Reflection;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Serving;

namespace EdgeMl.Agent.Tests.Architecture;

/// <summary>
/// No production constructor takes a dependency that may be left out (<c>= null</c>): a wiring mistake then fails at
/// start-up instead of running without a logger, a clock or a part. Tools without a host (the CLI) use an explicit
/// overload that says what it does without. Records and exceptions carry data, not dependencies, and are not checked.
/// </summary>
public sealed class ConstructorDependencyTests
{
    /// <summary>The optional parameters that stay, each with why.</summary>
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "AgentGpioSink.hub", // the predictions output exists only with a hub; GPIO runs without one
        "BackOff.random", // a value type's test seam (the draw), not a service
        "InferenceEngine.logger", // left for the probation branch, which changes this constructor
        "EngineValidator.settings", // data: the model's runtime settings, defaults when the manifest has none
        "LoaderValidator.settings", // data, as above
        "SasTokenProvider.keyName", // data: a device key has no policy name
        "InferenceRequest.outputs", // data: which outputs a caller asks for
        "RegistryContent.owner", // data: what to dispose with the stream, when anything
    };

    [Fact]
    public void Constructors_ProductionAssemblies_NoOptionalReferenceDependencies()
    {
        var assemblies = new[] { typeof(AgentOptions).Assembly, typeof(InferenceEngine).Assembly, typeof(ModelPuller).Assembly };

        var optional = assemblies.SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && !typeof(Exception).IsAssignableFrom(t) && t.GetMethod("<Clone>$") is null)
            .SelectMany(t => t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
                .SelectMany(c => c.GetParameters())
                .Where(p => p is { HasDefaultValue: true, DefaultValue: null } && !p.ParameterType.IsValueType)
                .Select(p => $"{t.Name}.{p.Name}"))
            .Where(name => !Allowed.Contains(name))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.True(optional.Length == 0, "Constructors with optional dependencies: " + string.Join(", ", optional));
    }
}
