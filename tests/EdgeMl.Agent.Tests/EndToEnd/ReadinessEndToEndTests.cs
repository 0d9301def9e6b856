using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using EdgeMl.Testing.Mqtt;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// Readiness as a kubelet or a load balancer meets it: the real <c>edgeml</c> process as an IoT Edge module steered by
/// the IoT Hub simulator's twin, probed every 20 ms from before it listens until it has exited.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class ReadinessEndToEndTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string Model = "ocr-cls";
    private const string DeviceId = "ready-device";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly string _root = Directory.CreateTempSubdirectory("edgeml-ready-").FullName;
    private readonly SigningKey _key = SigningKey.Create();
    private readonly IoTHubSimulator.IoTHubSimulator _hub = new(new IoTHubSimulatorOptions { EdgeHubMode = true });
    private SimulatedIdentity _module = null!;
    private MosquittoBroker _broker = null!;

    public async Task InitializeAsync()
    {
        await _hub.StartAsync();
        _module = _hub.AddModule(DeviceId, "edgeml");
        _broker = await MosquittoBroker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _broker.DisposeAsync();
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
    public async Task Run_TwinWantsAModel_ReadyNeverFallsBackThroughSwapAndRefusalAndSigtermDrainsWithoutFailingARequest()
    {
        var registry = Publish(1, 2, 3);
        await _hub.UpdateDesiredAsync(_module, Desired(registry, 1));

        // edgeHub answers only once the agent listens, so the twin surely comes after the first probe answers.
        await _hub.StopAsync();
        await using var subscriber = await MqttSubscriber.ConnectAsync(_broker.Port, $"edgeml/{DeviceId}/status", _broker.CaFile, MosquittoBroker.User, MosquittoBroker.Secret);
        var agent = AgentProcess.Start([.. Settings("data"), "--EdgeMl:DrainWindow=00:00:01"]);
        var probe = ReadinessProbe.Start(agent, Model);
        var sigterm = int.MaxValue;
        try
        {
            // From the first answer on, the server and the model only become ready.
            await probe.WaitForAsync(ReadinessProbe.Live, 200);
            await _hub.StartAsync();
            await WaitForAckAsync(agent, 200, "v1 serves");
            await probe.WaitForAsync(ReadinessProbe.Ready, 200);

            // The hot swap and the refused version keep the old one serving, and ready.
            await _hub.UpdateDesiredAsync(_module, Desired(registry, 2));
            await WaitForAckAsync(agent, 200, "v2 serves");
            Assert.Equal(2, await InferAsync(agent.Http));
            await _hub.UpdateDesiredAsync(_module, Desired(registry, 3));
            await WaitForAckAsync(agent, 500, "v3 refused");
            Assert.Equal(2, await InferAsync(agent.Http));
            var model = (await HealthAsync(agent))["models"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == Model)!;
            Assert.True(model["degraded"]!.GetValue<bool>());
            Assert.Contains("v3 refused: GoldenCheck", model["degradedReason"]!.GetValue<string>(), StringComparison.Ordinal);

            // A request is in flight (its body half sent) when SIGTERM comes.
            using var release = new CancellationTokenSource();
            var held = HeldInferAsync(agent.Http.BaseAddress!, release.Token);
            await WaitUntilAsync(async () => await InFlightAsync(agent) == 1, agent, "the held request in flight");
            sigterm = probe.Mark();
            await agent.TerminateAsync();

            // Readiness turns first; requests are answered until the drain window ends, then refused with Retry-After.
            await probe.WaitForAsync(ReadinessProbe.Ready, 503, sigterm);
            using var late = new HttpClient { BaseAddress = agent.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var servedInWindow = 0;
            HttpResponseMessage refused;
            while (true)
            {
                refused = await late.GetAsync($"/v2/models/{Model}");
                if (refused.StatusCode != HttpStatusCode.OK)
                {
                    break;
                }

                refused.Dispose();
                servedInWindow++;
                await Task.Delay(20);
            }

            using (refused)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
                Assert.Contains("shutting down", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The request that started before SIGTERM finishes, then the agent says offline and exits cleanly.
            await release.CancelAsync();
            var (status, version) = await held;
            Assert.Equal((HttpStatusCode.OK, 2L), (status, version));
            Assert.Equal(0, await agent.WaitForExitAsync());
            await subscriber.WaitForAsync($"edgeml/{DeviceId}/status", p => p == "offline");
            output.WriteLine($"served in the drain window after readiness turned: {servedInWindow}");
        }
        catch
        {
            output.WriteLine(agent.Output);
            throw;
        }
        finally
        {
            await probe.DisposeAsync();
            await agent.DisposeAsync();
        }

        var answers = probe.Answers;
        output.WriteLine($"probe answers: {answers.Count}; per path, each change of answer (ms after the first probe):");
        foreach (var path in probe.Paths)
        {
            var own = answers.Where(a => a.Path == path).ToList();
            var changes = own.Where((a, i) => i == 0 || a.Status != own[i - 1].Status).Select(a => $"{(a.At - answers[0].At).TotalMilliseconds:F0}: {a.Status}");
            output.WriteLine($"  {path}: {string.Join(" → ", changes)}");
        }
        foreach (var path in probe.Paths)
        {
            Assert.Empty(probe.FallsBack(path, sigterm));
        }

        Assert.All(answers.Where(a => a.Path == ReadinessProbe.Live && a.Status != 0), a => Assert.Equal(200, a.Status));
        Assert.Contains(answers.Take(sigterm), a => a.Path == ReadinessProbe.Ready && a.Status == 200);
    }

    [Fact]
    public async Task Run_HubUnreachable_NotReadyWithoutPersistedStateThenReadyOnPersistedStateAfterTheTimeout()
    {
        var registry = Publish(1);
        await _hub.UpdateDesiredAsync(_module, Desired(registry, 1));
        await _hub.StopAsync();

        // A first start with nothing persisted and no hub: not ready, and why, until the twin arrives.
        var first = AgentProcess.Start([.. Settings("data"), "--EdgeMl:DrainWindow=00:00:00"]);
        try
        {
            await first.WaitUntilLiveAsync();
            await WaitUntilAsync(async () => await ReadyAsync(first) is (503, { } r) && r.Contains("none arrived within 1 s", StringComparison.Ordinal),
                first, "not ready: no twin within 1 s and nothing persisted");
            Assert.Equal("embedded", (await HealthAsync(first))["desired"]!.GetValue<string>());

            await _hub.StartAsync();
            await WaitForAckAsync(first, 200, "v1 serves once the hub answers");
            await WaitUntilAsync(async () => await ReadyAsync(first) is (200, _), first, "ready on the twin's model");
            Assert.Equal("twin", (await HealthAsync(first))["desired"]!.GetValue<string>());
            await first.TerminateAsync();
            Assert.Equal(0, await first.WaitForExitAsync());
        }
        catch
        {
            output.WriteLine(first.Output);
            throw;
        }
        finally
        {
            await first.DisposeAsync();
        }

        // A restart without the hub serves the persisted state, and says so, once the twin is overdue.
        await _hub.StopAsync();
        var second = AgentProcess.Start([.. Settings("data"), "--EdgeMl:StartupDesiredTimeout=00:00:03"]);
        var probe = ReadinessProbe.Start(second, Model);
        try
        {
            var ready = await probe.WaitForAsync(ReadinessProbe.Ready, 200);
            Assert.Equal("persisted", (await HealthAsync(second))["desired"]!.GetValue<string>());
            Assert.Equal(1, await InferAsync(second.Http));
            Assert.All(probe.Answers.Where(a => a.Path == ReadinessProbe.Ready && a.Status == 503 && a.At < ready.At),
                a => Assert.Contains("the desired state the last run persisted counts after 3 s", a.Reason, StringComparison.Ordinal));

            // The hub comes back: the twin takes over and readiness stays.
            await _hub.StartAsync();
            await WaitUntilAsync(async () => (await HealthAsync(second))["desired"]!.GetValue<string>() == "twin", second, "the twin's desired state");
            var end = probe.Mark();
            foreach (var path in probe.Paths)
            {
                Assert.Empty(probe.FallsBack(path, end));
            }
        }
        catch
        {
            output.WriteLine(second.Output);
            throw;
        }
        finally
        {
            await probe.DisposeAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task Run_CtrlC_StopsWithoutWaitingForTheDrainWindow()
    {
        // A drain window far longer than the guard on the exit: only skipping it lets the agent exit in time.
        var agent = AgentProcess.Start([.. Settings("data"), "--EdgeMl:DrainWindow=00:10:00", "--EdgeMl:ShutdownTimeout=00:20:00"]);
        try
        {
            await agent.WaitUntilLiveAsync();
            await agent.TerminateAsync("INT");
            Assert.Equal(0, await agent.WaitForExitAsync());
            Assert.Contains("drain window of 00:00:00", agent.Output, StringComparison.Ordinal);
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

    private IEnumerable<string> Settings(string data) =>
        EndToEndSettings.Agent(_root, Path.Combine(_root, data), DeviceId, _hub, _module, _key, _broker);

    /// <summary>Publishes the classifier in a folder registry; v3 fails its golden check.</summary>
    private string Publish(params int[] versions)
    {
        var registry = Path.Combine(_root, "registry");
        foreach (var version in versions)
        {
            var package = TestPackages.Classifier(Path.Combine(_root, $"pkg{version}"), Model, version, _key);
            if (version == 3)
            {
                TestPackages.BreakGolden(package, _key);
            }

            TestPackages.PublishToFolder(registry, package, _key, DateTimeOffset.UtcNow.AddDays(1));
        }

        return registry;
    }

    private static JsonObject Desired(string registry, long version) => new()
    {
        ["registry"] = registry,
        ["models"] = new JsonObject { [Model] = new JsonObject { ["version"] = version, ["providers"] = "cpu", ["threads"] = 1 } },
        ["healthReportInterval"] = "00:00:01",
    };

    private async Task WaitForAckAsync(AgentProcess agent, int code, string what)
    {
        JsonObject? ack = null;
        await WaitUntilAsync(() =>
        {
            ack = _module.Twin.Reported["models"]?[Model] as JsonObject;
            return Task.FromResult(ack?["ac"]?.GetValue<int>() == code && ack["av"]?.GetValue<long>() == _module.Twin.DesiredVersion);
        }, agent, $"{what}: ack {code} for desired $version {_module.Twin.DesiredVersion} (last: {ack?.ToJsonString()})");
    }

    private static async Task<(int Status, string? Reason)> ReadyAsync(AgentProcess agent)
    {
        using var response = await agent.Http.GetAsync(ReadinessProbe.Ready);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return ((int)response.StatusCode, body["reason"]?.GetValue<string>());
    }

    private static async Task<JsonNode> HealthAsync(AgentProcess agent) => JsonNode.Parse(await agent.Http.GetStringAsync("/api/health"))!;

    private static async Task<long> InFlightAsync(AgentProcess agent)
    {
        using var metrics = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await metrics.GetStringAsync(new Uri($"http://127.0.0.1:{agent.MetricsPort}/metrics"));
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith("edgeml_serving_in_flight ", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static async Task<long> InferAsync(HttpClient http)
    {
        using var response = await http.PostAsync($"/v2/models/{Model}/infer", new ByteArrayContent(InferBody()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return long.Parse(JsonNode.Parse(text)!["model_version"]!.GetValue<string>(), CultureInfo.InvariantCulture);
    }

    /// <summary>An infer whose body is half sent at once and the rest only on <paramref name="release"/>: a request in flight for as long as the test wants.</summary>
    private static async Task<(HttpStatusCode Status, long Version)> HeldInferAsync(Uri address, CancellationToken release)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = Guard };
        using var response = await http.PostAsync($"/v2/models/{Model}/infer", new HeldContent(InferBody(), release), CancellationToken.None);
        var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
        return (response.StatusCode, response.IsSuccessStatusCode ? long.Parse(JsonNode.Parse(text)!["model_version"]!.GetValue<string>(), CultureInfo.InvariantCulture) : -1);
    }

    private static byte[] InferBody()
    {
        var random = new Random(7);
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ModelFixtures.ClassifierInput,
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 3, 48, 192),
                ["data"] = new JsonArray(Enumerable.Range(0, 3 * 48 * 192).Select(_ => (JsonNode)(float)random.NextDouble()).ToArray()),
            }),
        };
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

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
                // Not listening yet; ask again.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"timed out waiting for {what}");
    }

    private sealed class HeldContent(byte[] body, CancellationToken release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2));
            await stream.FlushAsync();
            await Task.Delay(Timeout.Infinite, release).ContinueWith(_ => { }, TaskScheduler.Default);
            await stream.WriteAsync(body.AsMemory(body.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
