using System.Text.Json;

namespace EdgeMl.Runtime.Providers;

/// <summary>Reads an ONNX Runtime profile and lists the graph nodes each provider ran.</summary>
internal static class NodePlacement
{
    private const string KernelSuffix = "_kernel_time";

    /// <summary>Per provider (our short name), the nodes it ran as <c>name (OpType)</c>, in the order they first ran.</summary>
    public static Dictionary<string, List<string>> FromProfile(Stream profile)
    {
        var nodes = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        using var doc = JsonDocument.Parse(profile);
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node"
                || !e.TryGetProperty("name", out var nameElement) || nameElement.GetString() is not { } name
                || !name.EndsWith(KernelSuffix, StringComparison.Ordinal)
                || !e.TryGetProperty("args", out var args) || !args.TryGetProperty("provider", out var providerElement)
                || providerElement.GetString() is not { } provider)
            {
                continue;
            }

            var shortName = ProviderNames.FromOnnxName(provider);
            var node = name[..^KernelSuffix.Length];
            if (!seen.Add((shortName, node)))
            {
                continue;
            }

            if (!nodes.TryGetValue(shortName, out var list))
            {
                nodes[shortName] = list = [];
            }

            list.Add(args.TryGetProperty("op_name", out var op) && op.GetString() is { Length: > 0 } opName ? $"{node} ({opName})" : node);
        }

        return nodes;
    }

    public static Dictionary<string, int> Counts(Dictionary<string, List<string>> nodes) =>
        nodes.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal);
}
