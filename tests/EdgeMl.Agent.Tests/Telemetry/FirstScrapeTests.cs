using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>
/// The real <c>edgeml run</c>, scraped the way the IoT Edge metrics collector and Prometheus meet it: whenever they
/// start, possibly long after the agent has been serving.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed partial class FirstScrapeTests : IAsyncLifetime
{
    private const string Model = "ocr-cls";
    private const int Requests = 17;

    private readonly TestPackages.TempFolder _temp = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(_temp.Sub("pkg"), Model, 1, key);
        TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = Path.Combine(_temp.Path, "trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        _agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={_temp.Sub("registry")}",
            $"--EdgeMl:Desired:models:{Model}:version=latest",
            $"--EdgeMl:Desired:models:{Model}:providers=cpu",
            $"--EdgeMl:Desired:models:{Model}:threads=1",
        ]);
        await _agent.WaitUntilLiveAsync();
        var guard = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using (var ready = await _agent.Http.GetAsync(ReadinessProbe.Ready))
            {
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < guard && !_agent.HasExited, $"the agent did not get ready:\n{_agent.Output}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task FirstScrape_AfterRequests_CountsEveryOneSinceStart()
    {
        for (var i = 0; i < Requests; i++)
        {
            using var body = new StringContent(Classifier(), System.Text.Encoding.UTF8, "application/json");
            using var response = await _agent.Http.PostAsync($"/v2/models/{Model}/infer", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var metrics = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await metrics.GetStringAsync(new Uri($"http://127.0.0.1:{_agent.MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"));

        Assert.Contains($"\nedgeml_inference_requests_total{{model=\"{Model}\"}} {Requests}\n", text, StringComparison.Ordinal);
        Assert.Contains($"\nedgeml_inference_duration_seconds_count{{model=\"{Model}\"}} {Requests}\n", text, StringComparison.Ordinal);
        Assert.Contains($"\nedgeml_model_swaps_total{{model=\"{Model}\",outcome=\"activated\"}} 1\n", text, StringComparison.Ordinal);
        foreach (var family in new[]
        {
            "edgeml_inference_requests_total counter", "edgeml_inference_duration_seconds histogram",
            "edgeml_model_swaps_total counter", "edgeml_serving_ready gauge", "edgeml_serving_in_flight gauge",
            "edgeml_capture_store_bytes gauge", "edgeml_capture_store_records gauge", "edgeml_distribution_pulls_total counter",
        })
        {
            Assert.Contains($"# TYPE {family}\n", text, StringComparison.Ordinal);
        }

        // Every sample as the IoT Edge metrics collector reads it: its line pattern, and a number it can parse.
        var samples = text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').ToList();
        Assert.NotEmpty(samples);
        foreach (var line in samples)
        {
            var match = CollectorLine().Match(line);
            Assert.True(match.Success, $"the collector skips: {line}");
            Assert.True(double.TryParse(match.Groups["metricvalue"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value), line);
        }
    }

    private static string Classifier() =>
        $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192))}}]}]}""";

    /// <summary>The metrics collector's own line pattern (Azure/iotedge, <c>PrometheusMetricsParser</c>).</summary>
    [GeneratedRegex("""^(?<metricname>[^#\{\}]+)(\{((?<tagname>[^=",]+)=(\"(?<tagvalue>[^=",]+)\")(,(?<tagname>[^=",]+)=(\"(?<tagvalue>[^=",]+)\"))*)\})?\s(?<metricvalue>.+)$""")]
    private static partial Regex CollectorLine();
}
