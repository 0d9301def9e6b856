using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml models</c>: a table of a running agent's models, the versions serving and where sync stands.</summary>
internal static class ModelsCommand
{
    private static readonly string[] Header = ["MODEL", "STATE", "VERSION", "PROVIDER", "DESIRED", "SYNC"];

    public static Command Create()
    {
        var url = AgentConnection.UrlOption();
        var token = AgentConnection.TokenOption();
        var command = new Command("models", "List a running agent's models and versions") { url, token };
        command.SetAction((parse, cancellationToken) => LocalApiVerb.RunAsync("models", parse, url, token, (client, output) => RunAsync(client, output, cancellationToken)));
        return command;
    }

    internal static async Task<int> RunAsync(LocalApiClient client, TextWriter output, CancellationToken cancellationToken)
    {
        using var doc = await client.GetJsonAsync("/api/health", cancellationToken);
        foreach (var line in Table(doc.RootElement))
        {
            await output.WriteLineAsync(line);
        }

        return ExitCodes.Ok;
    }

    internal static IEnumerable<string> Table(JsonElement health)
    {
        var sync = (health.Get("sync") ?? default).Items("models").ToDictionary(s => s.Text("name"), StringComparer.Ordinal);
        var rows = new List<string[]> { Header };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in health.Items("models"))
        {
            var name = m.Text("name");
            seen.Add(name);
            var provider = m.Text("provider") + (m.Flag("degraded") ? " (degraded)" : "");
            rows.Add([name, m.Text("state"), m.Version("version"), provider, .. SyncColumns(sync.GetValueOrDefault(name))]);
        }

        // Desired models that are not loaded yet (still downloading, or refused) belong in the table too.
        foreach (var (name, s) in sync.Where(s => !seen.Contains(s.Key)))
        {
            rows.Add([name, "not loaded", HealthText.Missing, HealthText.Missing, .. SyncColumns(s)]);
        }

        return rows.Count == 1 ? ["no models"] : HealthText.Table(rows);
    }

    private static string[] SyncColumns(JsonElement s)
    {
        if (s.ValueKind != JsonValueKind.Object)
        {
            return [HealthText.Missing, HealthText.Missing];
        }

        var progress = s.Number("progress") is { } p ? FormattableString.Invariant($" {Math.Round(p * 100):F0}%") : "";
        var target = s.Text("targetVersion") is var t && t != HealthText.Missing && t != s.Text("activeVersion") ? " → v" + t : "";
        return [s.Text("desired"), s.Text("phase") + progress + target];
    }
}
