using System.Diagnostics;
using System.Net;
using System.Text;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>
/// The real <c>edgeml run</c> pushing to an OTLP receiver on loopback over both protocols: the model sync's trace,
/// a prediction's trace continuing the caller's <c>traceparent</c>, the EdgeMl metrics, and the configured header on
/// every export but in no report.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class OtlpExportTests
{
    private const string Model = "ocr-cls";
    private const string Secret = "otlp-key-5e1d9";

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Run_WithOtlpEndpoint_ExportsSyncAndPredictionTracesAndMetrics(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync(grpc: protocol == "grpc");
        using var temp = new TestPackages.TempFolder();
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(temp.Sub("pkg"), Model, 1, key);
        TestPackages.PublishToFolder(temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = Path.Combine(temp.Path, "trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        await using var agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={temp.Sub("registry")}",
            $"--EdgeMl:Desired:models:{Model}:version=latest",
            $"--EdgeMl:Desired:models:{Model}:providers=cpu",
            $"--EdgeMl:Desired:models:{Model}:threads=1",
            $"--EdgeMl:Otlp:Endpoint={receiver.Endpoint}",
            $"--EdgeMl:Otlp:Protocol={protocol}",
            $"--EdgeMl:Otlp:Headers=x-api-key={Secret}",
            "--EdgeMl:Otlp:MetricsInterval=00:00:01",
        ]);
        await agent.WaitUntilLiveAsync();
        await agent.WaitUntilAsync(async () => (await agent.Http.GetAsync("/v2/health/ready")).IsSuccessStatusCode, "ready");

        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var callerSpan = ActivitySpanId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{Model}/infer")
        {
            Content = new StringContent(Body(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using (var response = await agent.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        string[] prediction = ["http infer", "engine.infer", "engine.run", "capture.handoff"];
        await agent.WaitUntilAsync(() => Task.FromResult(prediction.All(n => receiver.Spans.Any(s => s.TraceId == traceId && s.Name == n))), "the prediction's spans");
        var spans = receiver.Spans.Where(s => s.TraceId == traceId).ToDictionary(s => s.Name);
        Assert.Equal(callerSpan, spans["http infer"].ParentSpanId);
        Assert.Equal(spans["http infer"].SpanId, spans["engine.infer"].ParentSpanId);
        Assert.Equal(spans["engine.infer"].SpanId, spans["engine.run"].ParentSpanId);
        Assert.Equal(spans["http infer"].SpanId, spans["capture.handoff"].ParentSpanId);

        // The first sync pulled, verified, loaded, warmed up, checked and activated the model: one trace.
        var sync = receiver.Spans.First(s => s.Name == "model.sync" && receiver.Spans.Any(c => c.TraceId == s.TraceId && c.Name == "model.download"));
        var stages = receiver.Spans.Where(s => s.TraceId == sync.TraceId).Select(s => s.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "model.check", "model.download", "model.verify", "model.load", "model.warmup", "model.golden", "model.activate" }, stages);
        Assert.Equal("", sync.ParentSpanId);

        await agent.WaitUntilAsync(() => Task.FromResult(receiver.MetricNames.ContainsKey("edgeml.inference.requests")), "the metrics");
        Assert.Contains("edgeml.inference.duration", receiver.MetricNames.Keys);
        Assert.Contains("edgeml.model.swaps", receiver.MetricNames.Keys);

        Assert.All(receiver.HeaderValues, h => Assert.Contains($"x-api-key: {Secret}", h, StringComparison.Ordinal));
        var bundle = await agent.Http.GetStringAsync("/api/support-bundle");
        var health = await agent.Http.GetStringAsync("/api/health");
        Assert.DoesNotContain(Secret, bundle, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, health, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OtlpProtocolUnknown_RefusesToStartAndSaysWhy()
    {
        using var temp = new TestPackages.TempFolder();
        var (code, _, error) = await EdgeMlProcess.RunAsync(
        [
            "run", $"--EdgeMl:DataDirectory={temp.Sub("data")}", $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--EdgeMl:Http:Urls=http://127.0.0.1:{AgentProcess.FreePort()}", $"--EdgeMl:MetricsUrls=http://127.0.0.1:{AgentProcess.FreePort()}",
            "--EdgeMl:Otlp:Endpoint=ftp://collector:4317", "--EdgeMl:Otlp:Protocol=http/json", $"--EdgeMl:Otlp:Headers=x-api-key={Secret},broken",
        ], TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Contains("EdgeMl:Otlp:Endpoint: 'ftp://collector:4317/' is not an http:// or https:// URL.", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Otlp:Protocol: 'http/json' is not one of grpc, http/protobuf.", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Otlp:Headers: pair 2 is not name=value.", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error, StringComparison.Ordinal);
    }

    private static string Body() =>
        $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192))}}]}]}""";
}
