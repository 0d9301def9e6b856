using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Architecture;

/// <summary>agent/ is a house of folders, one feature each, whose arrows point one way (docs/design.md).</summary>
public sealed class FolderCycleTests
{
    private static readonly string AgentRoot = Path.Combine(ModelFixtures.RepositoryRoot, "agent");

    [Fact]
    public void AgentFolders_UsingDirectives_FormNoCycle()
    {
        var cycles = FolderDependencyGraph.Cycles(FolderDependencyGraph.Read(AgentRoot));

        Assert.True(cycles.Count == 0, "agent/ folders use each other in a circle: " + string.Join("; ", cycles.Select(c => string.Join(" -> ", c))));
    }

    [Fact]
    public void AgentFolders_EveryFileInAFolder_IsInThatFoldersNamespaceOrTheRoot()
    {
        // The cycle check reads namespaces: a file whose namespace is another folder's would hide its arrows.
        var strays = Directory.EnumerateFiles(AgentRoot, "*.cs", SearchOption.AllDirectories)
            .Select(f => (File: Path.GetRelativePath(AgentRoot, f), Text: File.ReadAllText(f)))
            .Where(f => f.File.Split(Path.DirectorySeparatorChar) is [var folder, _, ..] && folder is not ("bin" or "obj")
                && !f.Text.Contains($"namespace EdgeMl.Agent.{f.File.Split(Path.DirectorySeparatorChar)[0]};", StringComparison.Ordinal)
                && !f.Text.Contains("namespace EdgeMl.Agent;", StringComparison.Ordinal))
            .Select(f => f.File);

        Assert.Empty(strays);
    }

    [Fact]
    public void Cycles_FoldersThatUseEachOther_NamedInOrder()
    {
        var graph = new Dictionary<string, SortedSet<string>>
        {
            ["Capture"] = ["Drift"],
            ["Drift"] = ["Events", "Capture"],
            ["Events"] = [],
            ["Health"] = ["Capture"],
        };

        var cycle = Assert.Single(FolderDependencyGraph.Cycles(graph));

        Assert.Equal(["Capture", "Drift", "Capture"], cycle);
    }

    [Fact]
    public void Read_FolderThatImportsAnother_HasTheArrow()
    {
        var graph = FolderDependencyGraph.Read(AgentRoot);

        Assert.Contains("Drift", graph["Capture"]);
        Assert.DoesNotContain("Capture", graph["Drift"]);
    }
}
