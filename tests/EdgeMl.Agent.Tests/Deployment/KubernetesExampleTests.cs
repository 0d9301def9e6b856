using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// <c>examples/kubernetes/edgeml.yaml</c> read as kubectl reads it, every number in it checked against the agent and
/// its image, and its command line and settings run as the kubelet would run them.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed partial class KubernetesExampleTests(ITestOutputHelper output)
{
    private static readonly string Manifest = Path.Combine(ModelFixtures.RepositoryRoot, "examples", "kubernetes", "edgeml.yaml");

    [Fact]
    public void Manifest_Documents_ConfigMapVolumeDeploymentAndService()
    {
        var documents = Documents();

        Assert.Equal(["ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"], documents.Select(d => d["kind"]!.GetValue<string>()));
        Assert.All(documents, d => Assert.Equal("edgeml", d["metadata"]!["labels"]!["app.kubernetes.io/name"]!.GetValue<string>()));
        Assert.Equal("edgeml", Of("Service")["spec"]!["selector"]!["app.kubernetes.io/name"]!.GetValue<string>());
    }

    [Fact]
    public void Probes_AskLiveAndReadyOnThePortTheSettingsBind()
    {
        var container = Container();
        var ports = container["ports"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => Int(p!["containerPort"]));
        var settings = Settings()["EdgeMl"]!;

        Assert.Equal(Port(settings["Http"]!["Urls"]!.GetValue<string>()), ports["http"]);
        Assert.Equal(Port(settings["MetricsUrls"]!.GetValue<string>()), ports["metrics"]);
        Assert.Equal(("/v2/health/live", "http"), Probe(container, "startupProbe"));
        Assert.Equal(("/v2/health/live", "http"), Probe(container, "livenessProbe"));
        Assert.Equal(("/v2/health/ready", "http"), Probe(container, "readinessProbe"));
        foreach (var port in Of("Service")["spec"]!["ports"]!.AsArray())
        {
            Assert.Equal(ports[port!["targetPort"]!.GetValue<string>()], Int(port["port"]));
        }

        // Starting may take a slow device a while: the startup probe, not liveness, gives it that time.
        var startup = container["startupProbe"]!;
        Assert.InRange(Int(startup["periodSeconds"]) * Int(startup["failureThreshold"]), 60, 600);

        // A load balancer polling readiness sees the 503 within the drain window, while requests are still served.
        var readiness = container["readinessProbe"]!;
        Assert.True(TimeSpan.FromSeconds(Int(readiness["periodSeconds"]) * Int(readiness["failureThreshold"])) <= Duration(settings, "DrainWindow"));
    }

    [Fact]
    public void Stop_FitsInsideTheGracePeriod()
    {
        var spec = Of("Deployment")["spec"]!["template"]!["spec"]!;
        var settings = Settings()["EdgeMl"]!;
        var grace = TimeSpan.FromSeconds(spec["terminationGracePeriodSeconds"] is { } set ? Int(set) : 30);

        Assert.True(Duration(settings, "DrainWindow") < Duration(settings, "ShutdownTimeout"));
        Assert.True(Duration(settings, "ShutdownTimeout") < grace, $"the agent's stop must end before SIGKILL at {grace}");
    }

    [Fact]
    public void Pod_RunsTheModuleImageAsItsUserWithItsDataFolderLimitsAndAToken()
    {
        var deployment = Of("Deployment")["spec"]!;
        var pod = deployment["template"]!["spec"]!;
        var container = Container();
        var dockerfile = File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "modules", "edgeml", "Dockerfile.amd64"));
        var module = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "modules", "edgeml", "module.json")))!;

        Assert.EndsWith($"/edgeml:{module["image"]!["tag"]!["version"]!.GetValue<string>()}-amd64", container["image"]!.GetValue<string>(), StringComparison.Ordinal);
        var dataDirectory = DataDirectory().Match(dockerfile).Groups["path"].Value;
        var data = container["volumeMounts"]!.AsArray().Single(m => m!["mountPath"]!.GetValue<string>() == dataDirectory)!;
        var volume = pod["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == data["name"]!.GetValue<string>())!;
        Assert.Equal(Of("PersistentVolumeClaim")["metadata"]!["name"]!.GetValue<string>(), volume["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
        Assert.Equal("Recreate", deployment["strategy"]!["type"]!.GetValue<string>()); // one writer on a ReadWriteOnce volume
        Assert.Equal(1654, Int(pod["securityContext"]!["runAsUser"])); // the aspnet image's APP_UID
        Assert.Equal(1654, Int(pod["securityContext"]!["fsGroup"]));
        Assert.NotNull(container["resources"]!["limits"]!["memory"]);
        Assert.NotNull(container["resources"]!["limits"]!["cpu"]);

        // The API binds beyond loopback, where the agent refuses to start without a token: it comes from the Secret.
        Assert.StartsWith("http://0.0.0.0:", Settings()["EdgeMl"]!["Http"]!["Urls"]!.GetValue<string>(), StringComparison.Ordinal);
        var token = container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "EdgeMl__Http__Token")!;
        Assert.Equal("edgeml", token["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Container_CommandAndSettings_StartTheAgentWhoseProbesAnswerAsDocumentedAndSigtermEndsIt()
    {
        var container = Container();
        var command = container["command"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var args = container["args"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        Assert.Equal(["/app/edgeml", "run"], command); // the image's entry point (modules/edgeml/Dockerfile.amd64) and its verb
        Assert.Equal("--config", args[0]);

        // The ConfigMap's settings as they are, with what the cluster provides (volume, key, registry) in a temp folder.
        using var temp = new TestPackages.TempFolder();
        using var key = SigningKey.Create();
        var settingsFile = temp.Sub("settings.json");
        File.WriteAllText(settingsFile, Settings().ToJsonString());
        var trust = temp.Sub("publisher.pub.pem");
        File.WriteAllText(trust, key.ExportPublicKeyPem());
        var model = Settings()["EdgeMl"]!["Desired"]!["models"]!.AsObject().Single().Key;
        var registry = temp.Sub("registry");
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(temp.Sub("package"), model, 1, key), key, DateTimeOffset.UtcNow.AddDays(1));

        var agent = AgentProcess.Start(
        [
            args[0], settingsFile, .. args[2..],
            $"--EdgeMl:DataDirectory={temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Desired:registry={registry}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            "--EdgeMl:DrainWindow=00:00:00",
        ]);
        try
        {
            Assert.Equal(HttpStatusCode.OK, await AnswerAsync(agent, Probe(container, "startupProbe").Path, HttpStatusCode.OK));
            Assert.Equal(HttpStatusCode.OK, await AnswerAsync(agent, Probe(container, "livenessProbe").Path, HttpStatusCode.OK));
            Assert.Equal(HttpStatusCode.OK, await AnswerAsync(agent, Probe(container, "readinessProbe").Path, HttpStatusCode.OK));

            await agent.TerminateAsync();
            Assert.Equal(0, await agent.WaitForExitAsync());
        }
        catch
        {
            output.WriteLine(agent.Output);
            throw;
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }

    /// <summary>Asks <paramref name="path"/> until it answers <paramref name="wanted"/> (a start, a model load); the guard only stops a hang.</summary>
    private static async Task<HttpStatusCode> AnswerAsync(AgentProcess agent, string path, HttpStatusCode wanted)
    {
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        HttpStatusCode? last = null;
        while (DateTime.UtcNow < guard && !agent.HasExited)
        {
            try
            {
                using var response = await agent.Http.GetAsync(path);
                last = response.StatusCode;
                if (last == wanted)
                {
                    return wanted;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        return last ?? 0;
    }

    private static List<JsonObject> Documents()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Manifest))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(d => (JsonObject)ToJson(d.RootNode)!).ToList();
    }

    private static JsonObject Of(string kind) => Documents().Single(d => d["kind"]!.GetValue<string>() == kind);

    private static JsonNode Container() => Of("Deployment")["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "edgeml")!;

    private static JsonObject Settings() => JsonNode.Parse(Of("ConfigMap")["data"]!["settings.json"]!.GetValue<string>())!.AsObject();

    private static (string Path, string Port) Probe(JsonNode container, string probe) =>
        (container[probe]!["httpGet"]!["path"]!.GetValue<string>(), container[probe]!["httpGet"]!["port"]!.GetValue<string>());

    private static int Port(string url) => new Uri(url).Port;

    private static int Int(JsonNode? node) => int.Parse(node!.GetValue<string>(), CultureInfo.InvariantCulture);

    private static TimeSpan Duration(JsonNode settings, string name) => TimeSpan.Parse(settings[name]!.GetValue<string>(), CultureInfo.InvariantCulture);

    /// <summary>YAML as JSON with every scalar a string: what the manifest says, before any Kubernetes typing.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => scalar.Value is null ? null : JsonValue.Create(scalar.Value),
        _ => throw new NotSupportedException(node.NodeType.ToString()),
    };

    [GeneratedRegex(@"EdgeMl__DataDirectory=(?<path>\S+)")]
    private static partial Regex DataDirectory();
}
