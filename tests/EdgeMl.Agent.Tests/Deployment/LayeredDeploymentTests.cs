using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// <c>deployment.layered.json</c>, a layered deployment that sets <c>properties.desired.models.ocr-det</c> only, laid
/// over each base template the way IoT Hub composes them: the other models' entries are never disturbed.
/// </summary>
public sealed class LayeredDeploymentTests : IDisposable
{
    private const string Layer = "deployment.layered.json";
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Templates => DeploymentTemplateTests.Templates;

    [Fact]
    public void Layer_SetsOneModelPathOnlyAndTheAgentAcceptsIt()
    {
        var edgeml = LayerContent();

        var (key, value) = Assert.Single(edgeml);
        Assert.Equal("properties.desired.models.ocr-det", key);
        var parsed = DesiredStateParser.Parse(new JsonObject { ["models"] = new JsonObject { ["ocr-det"] = value!.DeepClone() } });
        Assert.Empty(parsed.Issues);
        var det = parsed.State.Models["ocr-det"];
        Assert.Equal(4, det.Shadow!.Version);
        Assert.Equal(TimeSpan.FromMinutes(30), det.Probation.Duration);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Compose_BaseAndLayer_LayerModelAddedOthersUnchanged(string template)
    {
        var baseDesired = BaseDesired(template);
        var alone = DesiredStateParser.Parse(baseDesired).State;

        var composed = DesiredStateParser.Parse(Compose(baseDesired, LayerContent()));

        Assert.Empty(composed.Issues);
        Assert.Equal(["ocr-cls", "ocr-det"], composed.State.Models.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(alone.Models["ocr-cls"], composed.State.Models["ocr-cls"]);
        Assert.Equal(alone.Registry, composed.State.Registry);
        Assert.Equal(alone.PollInterval, composed.State.PollInterval);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void TwinPatches_LayerAddedChangedAndRemoved_OtherModelsKeepTheirEntry(string template)
    {
        var source = new DesiredStateSource(new ConfigurationBuilder().Build(), Options.Create(new AgentOptions { DataDirectory = _temp.Sub($"data-{template}") }),
            new ListLogger<DesiredStateSource>());
        var baseDesired = BaseDesired(template);
        source.Apply(new DesiredPropertiesUpdate(2, (JsonObject)baseDesired.DeepClone(), IsFullDocument: true));
        var cls = source.Current.State.Models["ocr-cls"];

        // IoT Hub sends the layer's change as a patch of the path it owns.
        var det = LayerContent()["properties.desired.models.ocr-det"]!;
        var added = source.Apply(new DesiredPropertiesUpdate(3, new JsonObject { ["models"] = new JsonObject { ["ocr-det"] = det.DeepClone() } }, IsFullDocument: false));
        var changed = source.Apply(new DesiredPropertiesUpdate(4, Patch("ocr-det", new JsonObject { ["version"] = 5 }), IsFullDocument: false));
        var removed = source.Apply(new DesiredPropertiesUpdate(5, Patch("ocr-det", null), IsFullDocument: false));

        Assert.Equal(["ocr-cls", "ocr-det"], added.State.Models.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(5, changed.State.Models["ocr-det"].Version);
        Assert.Equal(4, changed.State.Models["ocr-det"].Shadow!.Version);
        Assert.Equal(["ocr-cls"], removed.State.Models.Keys);
        foreach (var snapshot in new[] { added, changed, removed })
        {
            Assert.Empty(snapshot.Issues);
            Assert.Equal(cls, snapshot.State.Models["ocr-cls"]); // equal: model sync leaves it (and any hold on it) alone
        }
    }

    /// <summary>What IoT Hub does with a layered deployment's <c>properties.desired.a.b</c>: sets that subtree of the desired properties.</summary>
    private static JsonObject Compose(JsonObject baseDesired, JsonObject layer)
    {
        var result = (JsonObject)baseDesired.DeepClone();
        foreach (var (key, value) in layer)
        {
            const string Prefix = "properties.desired.";
            Assert.StartsWith(Prefix, key, StringComparison.Ordinal);
            var path = key[Prefix.Length..].Split('.');
            var node = result;
            foreach (var part in path[..^1])
            {
                node = node[part] as JsonObject ?? (JsonObject)(node[part] = new JsonObject());
            }

            node[path[^1]] = value?.DeepClone();
        }

        return result;
    }

    private static JsonObject Patch(string model, JsonNode? entry) => new() { ["models"] = new JsonObject { [model] = entry } };

    private static JsonObject BaseDesired(string template) =>
        (JsonObject)Read(template)["modulesContent"]!["edgeml"]!["properties.desired"]!;

    private static JsonObject LayerContent() => (JsonObject)Read(Layer)["content"]!["modulesContent"]!["edgeml"]!;

    private static JsonObject Read(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, file)), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow })!.AsObject();
}
