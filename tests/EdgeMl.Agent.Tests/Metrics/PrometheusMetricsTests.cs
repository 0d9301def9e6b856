using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Metrics;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Metrics;

public sealed class PrometheusMetricsTests
{
    [Fact]
    public void Scrape_CounterHistogramAndGauge_InPrometheusTextWithoutInfiniteValues()
    {
        using var metrics = new PrometheusMetrics("EdgeMl.Test");
        using var meter = new Meter("EdgeMl.Test.Scrape");
        var counter = meter.CreateCounter<long>("edgeml.test.requests", "{request}", "Requests \"seen\"");
        var histogram = meter.CreateHistogram<double>("edgeml.test.duration", "s");
        var level = double.PositiveInfinity;
        meter.CreateObservableGauge("edgeml.test.level", () => level);

        counter.Add(2, new KeyValuePair<string, object?>("model", "a\"b"));
        counter.Add(1, new KeyValuePair<string, object?>("model", "a\"b"));
        histogram.Record(0.003);
        histogram.Record(100);

        var text = metrics.Scrape();

        Assert.Contains("# TYPE edgeml_test_requests_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_requests_total{model=\"a\\\"b\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE edgeml_test_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"0.0025\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"0.005\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_count 2\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nedgeml_test_level ", text, StringComparison.Ordinal);

        level = 0.5;
        Assert.Contains("edgeml_test_level 0.5\n", metrics.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_MetricsAfterInference_ServesEngineInstruments()
    {
        await using var host = await ApiHost.StartAsync();
        await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        await host.Engine.InferAsync("ocr-cls", new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1))]));

        using var response = await host.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("edgeml_inference_requests_total{model=\"ocr-cls\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_model_swaps_total{model=\"ocr-cls\",outcome=\"activated\"} 1\n", text, StringComparison.Ordinal);
        Assert.Matches("edgeml_inference_duration_seconds_count\\{model=\"ocr-cls\"\\} 1\n", text);
        Assert.DoesNotMatch(new Regex(@"^[^#].* [-+]?(Inf|NaN)", RegexOptions.Multiline), text);
    }
}
