using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Serving;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.EdgeHub;

/// <summary>The <c>infer</c> input → <c>predictions</c> output route, through the simulator in edgeHub mode and the real engine.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class ModuleInferenceRouteTests : IAsyncLifetime, IDisposable
{
    private static readonly string Request = BuildRequest();
    private readonly TestPackages.TempFolder _temp = new();
    private ServiceProvider _services = null!;
    private HubHarness _hub = null!;
    private ModuleInferenceRoute? _route;

    public async Task InitializeAsync()
    {
        _services = new ServiceCollection().AddLogging().AddMetrics().AddEdgeMlRuntime().BuildServiceProvider();
        var package = ModelPackage.Open(TestPackages.Classifier(_temp.Sub("cls"), "cls", 1, key: null));
        var activation = await _services.GetRequiredService<InferenceEngine>().ActivateAsync(package.CreateDefinition(null));
        Assert.Null(activation.Failure);
        _hub = await HubHarness.StartAsync(edgeHubMode: true);
    }

    public async Task DisposeAsync()
    {
        if (_route is not null)
        {
            await _route.StopAsync(CancellationToken.None);
        }

        await _hub.DisposeAsync();
        await _services.DisposeAsync();
    }

    public void Dispose() => _temp.Dispose();

    private static string BuildRequest()
    {
        var data = string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192));
        return $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[{{data}}]}]}""";
    }

    private ModuleInferenceRoute CreateRoute(string[] desiredModels, int queueCapacity = ModuleInferenceRoute.QueueCapacity)
    {
        var config = desiredModels.ToDictionary(m => $"EdgeMl:Desired:models:{m}:version", _ => (string?)"1");
        var desired = new DesiredStateSource(new ConfigurationBuilder().AddInMemoryCollection(config).Build(),
            Options.Create(new AgentOptions { DataDirectory = _temp.Sub("data") }), NullLogger<DesiredStateSource>.Instance);
        var pipeline = new PredictionPipeline(_services.GetRequiredService<InferenceEngine>(), TimeProvider.System, []);
        return new ModuleInferenceRoute(_hub.Client, pipeline, desired, NullLogger<ModuleInferenceRoute>.Instance, queueCapacity);
    }

    private async Task StartRouteAsync(params string[] desiredModels)
    {
        _route = CreateRoute(desiredModels);
        await _route.StartAsync(CancellationToken.None);
        await HubHarness.WaitForAsync(() => _hub.Module.CurrentSubscriptions.Any(s => s.Contains("/inputs/", StringComparison.Ordinal)), "inputs subscription");
    }

    private async Task<CapturedMessage> SendAsync(string body, params (string Key, string? Value)[] properties)
    {
        var before = _hub.Simulator.Messages.Count;
        await _hub.Simulator.SendToModuleInputAsync(_hub.Module, ModuleEndpoints.InferInput, Encoding.UTF8.GetBytes(body),
            properties.Select(p => KeyValuePair.Create(p.Key, p.Value)));
        await HubHarness.WaitForAsync(() => _hub.Simulator.Messages.Count > before, "an answer on an output");
        var answer = _hub.Simulator.Messages[before];
        Assert.Equal(ModuleEndpoints.PredictionsOutput, answer.OutputName);
        return answer;
    }

    [Fact]
    public async Task Infer_ValidRequestWithCorrelationId_AnsweredOnPredictionsWithItKept()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync(Request, ("$.cid", "req-42"), ("$.mid", "m-1"));

        Assert.Equal("req-42", answer.SystemProperties["$.cid"]);
        Assert.Equal("200", answer.ApplicationProperties["status"]);
        Assert.Equal("cls", answer.ApplicationProperties["model"]);
        Assert.Equal("1", answer.ApplicationProperties["version"]);
        var json = JsonNode.Parse(answer.BodyText)!;
        Assert.Equal("cls", json["model_name"]!.GetValue<string>());
        var output = json["outputs"]![0]!;
        Assert.Equal(ModelFixtures.ClassifierOutput, output["name"]!.GetValue<string>());
        var scores = output["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(2, scores.Length);
        Assert.Equal(1.0, scores.Sum(), 3);
    }

    [Fact]
    public async Task Infer_NoCorrelationId_MessageIdBecomesCorrelationId()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync(Request, ("$.mid", "m-7"), ("model", "cls"));

        Assert.Equal("m-7", answer.SystemProperties["$.cid"]);
        Assert.Equal("200", answer.ApplicationProperties["status"]);
    }

    [Fact]
    public async Task Infer_MalformedJson_ErrorBodyWithStatus400()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync("{\"inputs\":[{\"name\":", ("$.mid", "bad-1"));

        Assert.Equal("400", answer.ApplicationProperties["status"]);
        Assert.Equal("bad-1", answer.SystemProperties["$.cid"]);
        Assert.NotNull(JsonNode.Parse(answer.BodyText)!["error"]);
    }

    [Fact]
    public async Task Infer_UnknownModel_404()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync(Request, ("$.mid", "m-2"), ("model", "nope"));

        Assert.Equal("404", answer.ApplicationProperties["status"]);
        Assert.Equal("nope", answer.ApplicationProperties["model"]);
        Assert.Contains("nope", JsonNode.Parse(answer.BodyText)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_TwoDesiredModelsAndNoModelProperty_400NamingTheProperty()
    {
        await StartRouteAsync("cls", "det");

        var answer = await SendAsync(Request, ("$.mid", "m-3"));

        Assert.Equal("400", answer.ApplicationProperties["status"]);
        Assert.Contains("'model'", JsonNode.Parse(answer.BodyText)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("m-3", answer.SystemProperties["$.cid"]);
    }

    [Fact]
    public async Task Infer_BadVersionProperty_400()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync(Request, ("$.mid", "m-4"), ("version", "abc"));

        Assert.Equal("400", answer.ApplicationProperties["status"]);
        Assert.Contains("version", JsonNode.Parse(answer.BodyText)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_UnknownModelWithUnreadableBody_404BeforeTheBodyIsRead()
    {
        await StartRouteAsync("cls");

        var answer = await SendAsync("{\"inputs\":[{\"name\":", ("$.mid", "m-5"), ("model", "made-up"));

        Assert.Equal("404", answer.ApplicationProperties["status"]);
        Assert.Equal("model 'made-up' is not served", JsonNode.Parse(answer.BodyText)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Accept_QueueFull_Answered503AtOnceWithItsCorrelationId()
    {
        // Not started: nothing takes requests from the queue, so the second one finds it full.
        var route = CreateRoute(["cls"], queueCapacity: 1);
        await route.AcceptAsync(new IoTHubMessage(Encoding.UTF8.GetBytes(Request)) { MessageId = "q-1" }, CancellationToken.None);
        var before = _hub.Simulator.Messages.Count;

        await route.AcceptAsync(new IoTHubMessage(Encoding.UTF8.GetBytes(Request)) { MessageId = "q-2", Properties = { ["model"] = "cls" } }, CancellationToken.None);

        await HubHarness.WaitForAsync(() => _hub.Simulator.Messages.Count > before, "the 503 answer");
        var answer = _hub.Simulator.Messages[before];
        Assert.Equal((ModuleEndpoints.PredictionsOutput, "503", "q-2"), (answer.OutputName, answer.ApplicationProperties["status"], answer.SystemProperties["$.cid"]));
        Assert.Contains("already waiting", JsonNode.Parse(answer.BodyText)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        route.Dispose();
    }
}
