using System.Text.RegularExpressions;

namespace EdgeMl.Agent.Tests.Architecture;

/// <summary>
/// Which agent/ folder uses which, read from the source as text: a file in <c>agent/X/</c> uses folder <c>Y</c> when
/// it has <c>using EdgeMl.Agent.Y…</c> or names <c>EdgeMl.Agent.Y.</c> in full. Files at the agent root (the
/// program, <c>AgentOptions</c>, the shared <c>Log</c> class's namespace) belong to no folder.
/// </summary>
internal static partial class FolderDependencyGraph
{
    public static Dictionary<string, SortedSet<string>> Read(string agentRoot)
    {
        var graph = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(agentRoot, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(agentRoot, file).Split(Path.DirectorySeparatorChar);
            if (relative.Length < 2 || relative[0] is "bin" or "obj")
            {
                continue;
            }

            var folder = relative[0];
            var uses = graph.TryGetValue(folder, out var set) ? set : graph[folder] = new SortedSet<string>(StringComparer.Ordinal);
            var text = File.ReadAllText(file);
            foreach (var match in Uses().Matches(text).Concat(FullNames().Matches(text)))
            {
                var used = match.Groups["folder"].Value;
                if (used != folder && Directory.Exists(Path.Combine(agentRoot, used)))
                {
                    uses.Add(used);
                }
            }
        }

        return graph;
    }

    /// <summary>Every cycle's folders in order, starting and ending at the same folder; none when the graph is layered.</summary>
    public static List<string[]> Cycles(IReadOnlyDictionary<string, SortedSet<string>> graph)
    {
        var cycles = new List<string[]>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
        {
            Visit(start);
        }

        return cycles;

        void Visit(string folder)
        {
            var at = path.IndexOf(folder);
            if (at >= 0)
            {
                cycles.Add([.. path[at..], folder]);
                return;
            }

            if (!done.Add(folder))
            {
                return;
            }

            path.Add(folder);
            foreach (var next in graph.TryGetValue(folder, out var uses) ? uses : [])
            {
                Visit(next);
            }

            path.RemoveAt(path.Count - 1);
        }
    }

    [GeneratedRegex(@"^\s*(global\s+)?using\s+(static\s+)?(\w+\s*=\s*)?EdgeMl\.Agent\.(?<folder>\w+)", RegexOptions.Multiline)]
    private static partial Regex Uses();

    [GeneratedRegex(@"(?<![\w.])(global::)?EdgeMl\.Agent\.(?<folder>\w+)\.")]
    private static partial Regex FullNames();
}
