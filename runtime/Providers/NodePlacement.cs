using System.Text.Json;

namespace EdgeMl.Runtime.Providers;

/// <summary>Reads an ONNX Runtime profile and counts the graph nodes each provider ran.</summary>
internal static class NodePlacement
{
    private const string KernelSuffix = "_kernel_time";

    public static Dictionary<string, int> FromProfile(Stream profile)
    {
        var nodes = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
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
            if (!nodes.TryGetValue(shortName, out var set))
            {
                nodes[shortName] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(name[..^KernelSuffix.Length]);
        }

        return nodes.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal);
    }
}
