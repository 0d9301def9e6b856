using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.Capture;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// Every operator verb once, in a terminal, the way an operator types them: what draws on a terminal (the transfer
/// progress bars) draws and the verb still succeeds. The verbs that talk to a running agent are in
/// <see cref="RunScriptTerminalTests"/>, against the agent run.sh starts.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class OperatorVerbsTerminalTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task OperatorVerbs_EachInATerminal_SucceedAndDrawTheirTransfers()
    {
        var here = _temp.Path;
        var registry = _temp.Sub("registry");
        var data = _temp.Sub("data");
        var request = Path.Combine(ModelFixtures.RepositoryRoot, "examples", "request.json");

        await Ok("keys", "create", "--name", "ops", "--out", "keys");
        foreach (var version in new[] { "1", "2" })
        {
            var package = "pkg" + version;
            await Ok("model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", version, "--out", package, "--shape", "x=1,3,48,192");
            await Ok("model", "sign", package, "--key", "keys/ops.key.pem");
            await Ok("model", "verify", package, "--trust", "keys/ops.pub.pem");
            var published = await Ok("model", "publish", package, "--registry", registry, "--key", "keys/ops.key.pem");
            Assert.Matches($@"cls/{version}/model\.onnx \[#{{30}}\]", published);
            var pulled = await Ok("model", "pull", "cls", "--registry", registry, "--trust", "keys/ops.pub.pem", "--data", data);
            Assert.Contains($"cls v{version} is active", pulled, StringComparison.Ordinal);
        }

        var rolledBack = await Ok("model", "rollback", "cls", "--data", data);
        Assert.Contains("cls rolled back from v2 to v1", rolledBack, StringComparison.Ordinal);

        var predicted = await Ok("predict", "--model", "pkg1", "--input", request);
        Assert.Contains("\"softmax_0.tmp_0\"", predicted, StringComparison.Ordinal);
        Assert.Matches(@"1 predictions: p50 [0-9.]+ ms", predicted);

        // What the agent would have captured by now (the kit's folder lives as long as it does).
        using var kit = new CaptureTestKit(Path.Combine(data, "capture"));
        using (var store = kit.Open())
        {
            store.Append([kit.Record(0, "cls")]);
        }

        var exported = await Ok("capture", "export", "--out", "capture.parquet", "--data", data);
        Assert.Contains("exported 1 records", exported, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(here, "capture.parquet")));

        async Task<string> Ok(params string[] args)
        {
            var (code, output) = await Terminal.EdgeMlAsync(here, args);
            Assert.True(code == 0, $"edgeml {string.Join(' ', args)} exited {code} in a terminal:\n{output}");
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
            return output;
        }
    }

    [Fact]
    public async Task RunHelp_InATerminal_ListsEverySettingOfTheDocumentedTable()
    {
        var documented = SettingsTable(await File.ReadAllTextAsync(Path.Combine(ModelFixtures.RepositoryRoot, "docs", "agent.md")));

        var (code, help) = await Terminal.EdgeMlAsync(_temp.Path, "run", "--help");

        Assert.Equal(0, code);
        Assert.True(documented.Count >= 10, $"docs/agent.md's settings table has only {documented.Count} rows");
        foreach (var setting in documented)
        {
            Assert.Matches($@"(?m)^  {Regex.Escape(setting)}\s", help);
        }
    }

    /// <summary>The first column of the table under "## Settings": `EdgeMl:…` names.</summary>
    private static List<string> SettingsTable(string markdown)
    {
        var section = markdown[markdown.IndexOf("## Settings", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        return Regex.Matches(section, @"(?m)^\| `(?<setting>EdgeMl[^`]*)`").Select(m => m.Groups["setting"].Value).ToList();
    }
}
