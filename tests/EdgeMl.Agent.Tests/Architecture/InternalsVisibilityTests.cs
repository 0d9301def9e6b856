using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Serving;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Architecture;

/// <summary>
/// The production assemblies grant their internals to test assemblies only (the projects under <c>tests/</c>,
/// <c>hil-tests/</c> and <c>fuzz/</c>): what the agent needs of runtime and cloud-sync is public, small and documented,
/// so a library cannot grow a second, hidden surface for the agent.
/// </summary>
public sealed class InternalsVisibilityTests
{
    private static readonly string[] TestFolders = ["tests", "hil-tests", "fuzz"];

    [Fact]
    public void InternalsVisibleTo_ProductionAssemblies_OnlyTestAssemblies()
    {
        var tests = TestAssemblyNames();
        var assemblies = new[] { typeof(AgentOptions).Assembly, typeof(InferenceEngine).Assembly, typeof(ModelPuller).Assembly };

        var granted = assemblies.SelectMany(a => a.GetCustomAttributes<InternalsVisibleToAttribute>()
                .Where(g => !tests.Contains(g.AssemblyName.Split(',')[0].Trim()))
                .Select(g => $"{a.GetName().Name} → {g.AssemblyName}"))
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.True(granted.Length == 0, $"Internals granted to assemblies that are not tests: {string.Join(", ", granted)}");
    }

    [Fact]
    public void TestAssemblyNames_TheTestProjects_FoundByAssemblyName()
    {
        var tests = TestAssemblyNames();

        Assert.Contains("EdgeMl.Agent.Tests", tests);
        Assert.Contains("EdgeMl.HilTests", tests);
        Assert.Contains("EdgeMl.Fuzz", tests);
        Assert.DoesNotContain("edgeml", tests);
    }

    /// <summary>Each test project's assembly name: its <c>AssemblyName</c>, else the project file's name.</summary>
    private static HashSet<string> TestAssemblyNames() =>
        TestFolders.Select(f => Path.Combine(ModelFixtures.RepositoryRoot, f))
            .Where(Directory.Exists)
            .SelectMany(f => Directory.EnumerateFiles(f, "*.csproj", SearchOption.AllDirectories))
            .Select(p => XDocument.Load(p).Descendants("AssemblyName").FirstOrDefault()?.Value ?? Path.GetFileNameWithoutExtension(p))
            .ToHashSet(StringComparer.Ordinal);
}
