using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.Registries;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Azurite;
using EdgeMl.Testing.Distribution;
using EdgeMl.Testing.Mqtt;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// The product as a fleet runs it: the real <c>edgeml</c> process, steered through the module twin of the IoT Hub
/// simulator (TLS), reporting to a real Mosquitto (TLS, password), pulling from a folder registry and from Azurite.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class AgentEndToEndTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string Model = "ocr-cls";
    private const string DeviceId = "edge-device";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly string _root = Directory.CreateTempSubdirectory("edgeml-e2e-").FullName;
    private readonly SigningKey _key = SigningKey.Create();
    private readonly IoTHubSimulator.IoTHubSimulator _hub = new(new IoTHubSimulatorOptions { EdgeHubMode = true });
    private SimulatedIdentity _module = null!;
    private MosquittoBroker _broker = null!;
    private AzuriteServer _azurite = null!;

    public async Task InitializeAsync()
    {
        await _hub.StartAsync();
        _module = _hub.AddModule(DeviceId, "edgeml");
        _broker = await MosquittoBroker.StartAsync();
        _azurite = await AzuriteServer.StartNewAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _broker.DisposeAsync();
        await _azurite.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying child; the temp folder is cleaned by the OS later.
        }
    }

    public void Dispose() => _key.Dispose();

    [Fact]
    public async Task Run_TokenMissingForWiderBind_RefusesToStartAndSaysWhy()
    {
        var (code, _, error) = await EdgeMlProcess.RunAsync(
            ["run", $"--EdgeMl:DataDirectory={Path.Combine(_root, "refused")}", "--EdgeMl:Http:Urls=http://0.0.0.0:0", "--EdgeMl:Grpc:Urls=http://127.0.0.1:0", "--EdgeMl:Mqtt:EmbeddedPort=0", "--EdgeMl:RetryMinDelay=1.00:00:00"],
            TimeSpan.FromSeconds(60));

        // Every problem at once, each naming its setting.
        Assert.Equal(2, code);
        Assert.Contains("EdgeMl:Http:Token", error, StringComparison.Ordinal);
        Assert.Contains("EmbeddedPort", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:RetryMinDelay must not exceed EdgeMl:RetryMaxDelay", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DesiredVersionsThroughTheTwin_PullsSwapsUnderLoadRefusesBadVersionServesOfflineAndCatchesUp()
    {
        // Registries: v1 in a folder; v1, v2 and a v3 that fails its golden check in Azurite.
        var folderRegistry = Path.Combine(_root, "registry");
        var blobRegistry = _azurite.ConnectionString + "Container=models";
        var publisher = new ModelPublisher(TestRegistries.Create(blobRegistry));
        for (var version = 1; version <= 3; version++)
        {
            var package = TestPackages.Classifier(Path.Combine(_root, $"pkg{version}"), Model, version, _key);
            if (version == 3)
            {
                TestPackages.BreakGolden(package, _key);
            }

            if (version == 1)
            {
                TestPackages.PublishToFolder(folderRegistry, package, _key, DateTimeOffset.UtcNow.AddDays(1));
            }

            await publisher.PublishAsync(package, _key, TimeSpan.FromDays(1), null, CancellationToken.None);
        }

        await _hub.UpdateDesiredAsync(_module, Desired(folderRegistry, 1));
        var dataFolder = Path.Combine(_root, "data");
        await using var subscriber = await MqttSubscriber.ConnectAsync(_broker.Port, $"edgeml/{DeviceId}/#", _broker.CaFile, MosquittoBroker.User, MosquittoBroker.Secret);
        var agent = AgentProcess.Start(Settings(dataFolder));
        try
        {
            // Desired v1 is pulled, activated and acknowledged.
            await agent.WaitUntilLiveAsync();
            await WaitForAckAsync(agent, 200, "v1 serves");
            await subscriber.WaitForAsync($"edgeml/{DeviceId}/status", p => p == "online");
            await subscriber.WaitForAsync($"edgeml/{DeviceId}/events", p => p.Contains("\"activated\"", StringComparison.Ordinal));

            // As a module, events leave on the output the deployment routes upstream.
            await WaitUntilAsync(() => _hub.Messages.Any(m => m.OutputName == "events" && m.ApplicationProperties.GetValueOrDefault("type") == "event"
                && m.BodyText.Contains("activated", StringComparison.Ordinal)), agent, "an activation event on the module output 'events'");

            // Inference over HTTP, JSON and binary, and over the module input.
            var json = await InferJsonAsync(agent);
            Assert.Equal("1", json["model_version"]!.GetValue<string>());
            var probabilities = json["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(1.0, probabilities.Sum(), 3);
            var binary = await InferBinaryAsync(agent);
            Assert.Equal(probabilities, binary.Select(v => (double)v), new ToleranceComparer(1e-5));
            await InferThroughEdgeHubAsync(agent, "message-1", expectVersion: 1);

            // Desired v2 from Azurite swaps in under continuous load with zero failed requests.
            using var load = new CancellationTokenSource();
            var callers = Enumerable.Range(0, 4).Select(_ => LoadAsync(agent, load.Token)).ToArray();
            await Task.Delay(300);
            await _hub.UpdateDesiredAsync(_module, Desired(blobRegistry, 2));
            await WaitForAckAsync(agent, 200, "v2 serves");
            await WaitUntilAsync(() => callers.Any(c => c.IsCompleted) || Served.Contains(2), agent, "requests answered by v2");
            await Task.Delay(300);
            await load.CancelAsync();
            var results = await Task.WhenAll(callers);
            Assert.All(results, r => Assert.Empty(r.Failures));
            Assert.Contains(results, r => r.Versions.Contains(1));
            Assert.Contains(results, r => r.Versions.Contains(2));
            output.WriteLine($"requests under swap: {results.Sum(r => r.Count)}, failed: 0");

            // A bad v3 (its golden check fails) is refused with ac 500, and v2 keeps serving.
            await _hub.UpdateDesiredAsync(_module, Desired(blobRegistry, 3));
            var refused = await WaitForAckAsync(agent, 500, "v3 refused");
            Assert.Contains("GoldenCheck", refused["ad"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Contains("v2 keeps serving", refused["ad"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("2", (await InferJsonAsync(agent))["model_version"]!.GetValue<string>());

            // Killing the process makes the broker publish the last will.
            await agent.KillAsync();
            await subscriber.WaitForAsync($"edgeml/{DeviceId}/status", p => p == "offline");
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

        // A restart with the hub unreachable serves v2 from disk.
        await _hub.StopAsync();
        var offline = AgentProcess.Start(Settings(dataFolder));
        try
        {
            await offline.WaitUntilLiveAsync();
            await WaitUntilAsync(async () => (await offline.Http.GetAsync("/v2/health/ready")).IsSuccessStatusCode, offline, "ready from disk");
            Assert.Equal("2", (await InferJsonAsync(offline))["model_version"]!.GetValue<string>());

            // The operator pins v1 while the device is offline; when the hub returns, the agent catches up.
            var pinned = Desired(blobRegistry, 1);
            pinned["models"]![Model]!["pinned"] = true;
            await _hub.UpdateDesiredAsync(_module, pinned);
            await _hub.StartAsync();
            await WaitForAckAsync(offline, 200, "pinned v1 serves after the hub returned");
            Assert.Equal("1", (await InferJsonAsync(offline))["model_version"]!.GetValue<string>());
        }
        catch
        {
            output.WriteLine(offline.Output);
            throw;
        }
        finally
        {
            await offline.DisposeAsync();
        }
    }

    private HashSet<long> Served { get; } = [];

    private IEnumerable<string> Settings(string dataFolder) =>
        EndToEndSettings.Agent(_root, dataFolder, DeviceId, _hub, _module, _key, _broker);

    private static JsonObject Desired(string registry, long version) => new()
    {
        ["registry"] = registry,
        ["models"] = new JsonObject
        {
            [Model] = new JsonObject { ["version"] = version, ["providers"] = "cpu", ["threads"] = 1 },
        },
        ["healthReportInterval"] = "00:00:01",
    };

    /// <summary>Waits for the model's Plug and Play acknowledgement with <paramref name="code"/> for the current desired $version.</summary>
    private async Task<JsonObject> WaitForAckAsync(AgentProcess agent, int code, string what)
    {
        JsonObject? ack = null;
        await WaitUntilAsync(() =>
        {
            ack = _module.Twin.Reported["models"]?[Model] as JsonObject;
            return ack?["ac"]?.GetValue<int>() == code && ack["av"]?.GetValue<long>() == _module.Twin.DesiredVersion;
        }, agent, $"{what}: ack {code} for desired $version {_module.Twin.DesiredVersion} (last: {ack?.ToJsonString()})");
        return ack!;
    }

    private static async Task<JsonNode> InferJsonAsync(AgentProcess agent)
    {
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ModelFixtures.ClassifierInput,
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 3, 48, 192),
                ["data"] = new JsonArray(Sample().Select(v => (JsonNode)v).ToArray()),
            }),
        };
        using var response = await agent.Http.PostAsync($"/v2/models/{Model}/infer", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private static async Task<float[]> InferBinaryAsync(AgentProcess agent)
    {
        var (content, _) = BinaryRequest();
        using var response = await agent.Http.PostAsync($"/v2/models/{Model}/infer", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        var header = JsonNode.Parse(bytes.AsSpan(0, headerLength))!;
        Assert.Equal(8, header["outputs"]![0]!["parameters"]!["binary_data_size"]!.GetValue<int>());
        return [BitConverter.ToSingle(bytes, headerLength), BitConverter.ToSingle(bytes, headerLength + 4)];
    }

    private static (ByteArrayContent Content, int HeaderLength) BinaryRequest()
    {
        var data = Sample();
        var header = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ModelFixtures.ClassifierInput,
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 3, 48, 192),
                ["parameters"] = new JsonObject { ["binary_data_size"] = data.Length * 4 },
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = ModelFixtures.ClassifierOutput, ["parameters"] = new JsonObject { ["binary_data"] = true } }),
        }.ToJsonString());
        var body = new byte[header.Length + (data.Length * 4)];
        header.CopyTo(body, 0);
        Buffer.BlockCopy(data, 0, body, header.Length, data.Length * 4);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        return (content, header.Length);
    }

    private async Task InferThroughEdgeHubAsync(AgentProcess agent, string messageId, long expectVersion)
    {
        var request = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ModelFixtures.ClassifierInput,
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 3, 48, 192),
                ["data"] = new JsonArray(Sample().Select(v => (JsonNode)v).ToArray()),
            }),
        };
        await _hub.SendToModuleInputAsync(_module, "infer", Encoding.UTF8.GetBytes(request.ToJsonString()),
            [new("$.mid", messageId), new("$.ct", "application/json"), new("model", Model)]);
        CapturedMessage? answer = null;
        await WaitUntilAsync(() =>
        {
            answer = _hub.Messages.FirstOrDefault(m => m.OutputName == "predictions" && m.SystemProperties.GetValueOrDefault("$.cid") == messageId);
            return answer is not null;
        }, agent, $"a prediction on output 'predictions' with correlation id {messageId}");
        Assert.Equal("200", answer!.ApplicationProperties["status"]);
        Assert.Equal(expectVersion.ToString(CultureInfo.InvariantCulture), answer.ApplicationProperties["version"]);
        var body = JsonNode.Parse(answer.BodyText)!;
        Assert.Equal(2, body["outputs"]![0]!["data"]!.AsArray().Count);
    }

    private async Task<LoadResult> LoadAsync(AgentProcess agent, CancellationToken stop)
    {
        var result = new LoadResult();
        using var http = new HttpClient { BaseAddress = agent.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        while (!stop.IsCancellationRequested && result.Count < 20_000)
        {
            var (content, _) = BinaryRequest();
            using var response = await http.PostAsync($"/v2/models/{Model}/infer", content, CancellationToken.None);
            result.Count++;
            if (!response.IsSuccessStatusCode)
            {
                result.Failures.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                continue;
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
            var version = long.Parse(JsonNode.Parse(bytes.AsSpan(0, headerLength))!["model_version"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            result.Versions.Add(version);
            lock (Served)
            {
                Served.Add(version);
            }
        }

        return result;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, AgentProcess agent, string what) =>
        await WaitUntilAsync(() => Task.FromResult(condition()), agent, what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, AgentProcess agent, string what)
    {
        var guard = DateTime.UtcNow + Guard;
        while (DateTime.UtcNow < guard)
        {
            if (agent.HasExited)
            {
                throw new InvalidOperationException($"edgeml exited while waiting for {what}");
            }

            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // The agent is between states; ask again.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"timed out waiting for {what}");
    }

    private static float[] Sample()
    {
        var random = new Random(7);
        return Enumerable.Range(0, 3 * 48 * 192).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private sealed class LoadResult
    {
        public int Count { get; set; }

        public List<string> Failures { get; } = [];

        public HashSet<long> Versions { get; } = [];
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
