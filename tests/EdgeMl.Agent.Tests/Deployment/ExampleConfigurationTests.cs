using System.Net;
using System.Text;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.CloudSync.Health;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary><c>examples/agent.json</c>: every key in it is a setting, and the agent runs on it and serves <c>examples/request.json</c>.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class ExampleConfigurationTests : IDisposable
{
    private static readonly string Example = Path.Combine(ModelFixtures.RepositoryRoot, "examples", "agent.json");
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void AgentJson_EveryKey_IsASettingTheAgentReads()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Example).Build();
        var edgeMl = configuration.GetSection(AgentOptions.Section);
        var sections = new Dictionary<string, Action<IConfigurationSection>>(StringComparer.Ordinal)
        {
            ["Http"] = s => s.Get<HttpApiOptions>(Strict),
            ["Mqtt"] = s => s.Get<MqttHealthOptions>(Strict),
            ["Capture"] = s => s.Get<CaptureSettings>(Strict),
            ["Desired"] = s => Assert.Empty(DesiredStateParser.Parse(ConfigurationJson.ToJson(s)).Issues),
        };

        foreach (var section in edgeMl.GetChildren().Where(c => sections.ContainsKey(c.Key)))
        {
            sections[section.Key](section);
        }

        // The agent's own keys, without the sections other options read.
        var own = edgeMl.AsEnumerable(makePathsRelative: true).Where(p => p.Value is not null && !sections.ContainsKey(p.Key.Split(':')[0]));
        new ConfigurationBuilder().AddInMemoryCollection(own).Build().Get<AgentOptions>(Strict);
        Assert.Equal(["EdgeMl"], configuration.GetChildren().Select(c => c.Key));
    }

    [Fact]
    public async Task AgentJson_AsTheServiceRunsIt_ServesTheExampleRequest()
    {
        using var key = SigningKey.Create();
        var trust = _temp.Sub("publisher.pub.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        var registry = _temp.Sub("registry");
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("pkg"), "ocr-cls", 1, key), key, DateTimeOffset.UtcNow.AddDays(1));

        // The machine's paths and ports replaced on the command line, which wins over the file; the rest as written.
        await using var agent = AgentProcess.Start(
        [
            "--config", Example,
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Mqtt:Port={AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={registry}",
        ]);
        await agent.WaitUntilLiveAsync();
        var request = await File.ReadAllTextAsync(Path.Combine(ModelFixtures.RepositoryRoot, "examples", "request.json"));

        var answer = await UntilServedAsync(agent, request);

        Assert.Contains("\"model_name\":\"ocr-cls\"", answer, StringComparison.Ordinal);
        Assert.Contains("\"softmax_0.tmp_0\"", answer, StringComparison.Ordinal);
    }

    private static void Strict(BinderOptions options) => options.ErrorOnUnknownConfiguration = true;

    private static async Task<string> UntilServedAsync(AgentProcess agent, string request)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var response = await agent.Http.PostAsync(
                new Uri("/v2/models/ocr-cls/infer", UriKind.Relative), new StringContent(request, Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return body;
            }

            // 404 or 503 while the model is pulled and activated; anything else is the answer.
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable, $"{response.StatusCode}: {body}\n{agent.Output}");
            Assert.False(agent.HasExited, agent.Output);
            await Task.Delay(200);
        }

        throw new TimeoutException($"ocr-cls never served:\n{agent.Output}");
    }
}
