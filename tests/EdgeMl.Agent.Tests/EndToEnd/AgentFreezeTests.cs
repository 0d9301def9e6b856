using System.Diagnostics;
using System.Net.Http.Headers;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>The real <c>edgeml run</c> following <c>latest</c> in a folder registry that replays an old signed list.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class AgentFreezeTests : IDisposable
{
    private const string Model = "ocr-cls";
    private const string Token = "freeze-test-token-0123456789";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly TestPackages.TempFolder _temp = new();
    private readonly SigningKey _key = SigningKey.Create();

    public void Dispose()
    {
        _key.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Run_RegistryReplaysAnOlderListAfterANewerOne_ReportsTheRefusalAndKeepsServing()
    {
        // v1 is active on disk, pulled from a list that offered only v1.
        var registry = _temp.Sub("registry");
        var data = _temp.Sub("data");
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("pkg1"), Model, 1, _key, goldenSamples: 0), _key, DateTimeOffset.UtcNow.AddDays(1));
        var listPath = Path.Combine(registry, Model, VersionsDocument.FileName);
        var sigPath = Path.Combine(registry, Model, VersionsDocument.SignatureFileName);
        var (oldList, oldSig) = (await File.ReadAllBytesAsync(listPath), await File.ReadAllBytesAsync(sigPath));
        using (var trusted = TrustedKeys.FromPem([_key.ExportPublicKeyPem()]))
        {
            await new ModelPuller(TestRegistries.Create(registry), new ModelStore(new ModelStoreOptions { DataDirectory = data }), new TrustPolicy(trusted), new FileDownloader(new DownloadOptions()))
                .PullAsync(new PullRequest(Model), new AcceptingValidator(), null, CancellationToken.None);
        }

        // Now v2 is listed, but its model file is damaged: the agent sees the newer list and stays on v1.
        var published = TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("pkg2"), Model, 2, _key, goldenSamples: 0), _key, DateTimeOffset.UtcNow.AddDays(1));
        TestPackages.FlipBit(Path.Combine(published, PackageBuilder.ModelFileName), 4242);
        var trust = _temp.Sub("trust.pem");
        await File.WriteAllTextAsync(trust, _key.ExportPublicKeyPem());
        await using var agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={data}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Http:Token={Token}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            "--EdgeMl:RetryMinDelay=00:00:00.200",
            "--EdgeMl:RetryMaxDelay=00:00:01",
            $"--EdgeMl:Desired:registry={registry}",
            $"--EdgeMl:Desired:models:{Model}:version=latest",

            // The list and its signature are two files: a look between their writes sees a pair that does not
            // match, refused until the next look.
            "--EdgeMl:Desired:pollInterval=00:00:05",
        ]);
        agent.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        await agent.WaitUntilLiveAsync();
        await WaitForHealthAsync(agent, "sha256");

        // The registry serves the old list again, still signed and unexpired.
        await File.WriteAllBytesAsync(listPath, oldList);
        await File.WriteAllBytesAsync(sigPath, oldSig);
        await WaitForHealthAsync(agent, "older than the list already seen");

        using var ready = await agent.Http.GetAsync($"/v2/models/{Model}/versions/1/ready");
        Assert.True(ready.IsSuccessStatusCode, agent.Output);
        Assert.Contains("older than the list already seen", agent.Output, StringComparison.Ordinal);
    }

    private static async Task WaitForHealthAsync(AgentProcess agent, string text)
    {
        var guard = Stopwatch.StartNew();
        var last = "";
        while (guard.Elapsed < Patience && !agent.HasExited)
        {
            last = await agent.Http.GetStringAsync("/api/health");
            if (last.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"/api/health never said '{text}'; last:\n{last}\nagent output:\n{agent.Output}");
    }
}
