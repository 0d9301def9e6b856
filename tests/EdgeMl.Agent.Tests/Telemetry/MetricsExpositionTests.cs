using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>The Prometheus text that OpenTelemetry writes for EdgeMl instruments: the names, types and buckets the hand-made exporter wrote.</summary>
public sealed class MetricsExpositionTests
{
    /// <summary>
    /// A name no other test serves: OpenTelemetry listens to every meter of the process, so a host's scrape also counts
    /// what other hosts of the test run record under the same instrument and model.
    /// </summary>
    private const string Model = "exposition-cls";

    [Fact]
    public async Task Scrape_HasTheRuntimesMemoryCollectionsAndAllocations_GrowingWithWork()
    {
        await using var host = await ApiHost.StartAsync();
        var first = await host.Client.GetStringAsync("/metrics");
        var allocatedBefore = Sample(first, "dotnet_gc_heap_total_allocated_bytes_total");
        GC.KeepAlive(new byte[1 << 20]);
        var next = await host.Client.GetStringAsync("/metrics");

        Assert.True(Sample(next, "dotnet_process_memory_working_set_bytes") > 1 << 20);
        Assert.True(Sample(next, "dotnet_gc_heap_total_allocated_bytes_total") >= allocatedBefore + (1 << 20));
        Assert.Contains("# TYPE dotnet_gc_collections_total counter\n", next, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_process_cpu_time_seconds_total counter\n", next, StringComparison.Ordinal);
    }

    private static double Sample(string text, string name)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Scrape_CounterHistogramGaugeAndUpDown_NamedAsBeforeWithoutScopeLabels()
    {
        await using var host = await ApiHost.StartAsync();
        using var meter = new Meter("EdgeMl.Test.Scrape");
        var counter = meter.CreateCounter<long>("edgeml.test.requests", "{request}", "Requests \"seen\"");
        var histogram = meter.CreateHistogram<double>("edgeml.test.duration", "s");
        var sizes = meter.CreateHistogram<int>("edgeml.test.batch_size", "{request}");
        var bytes = meter.CreateCounter<long>("edgeml.test.download.bytes", "By");
        var depth = meter.CreateUpDownCounter<long>("edgeml.test.queue_depth", "{request}");
        var level = 0.25;
        meter.CreateObservableGauge("edgeml.test.level", () => level, "{ready}");
        meter.CreateObservableGauge("edgeml.test.broken", () => double.PositiveInfinity);

        counter.Add(2, new KeyValuePair<string, object?>("model", "a\"b"));
        counter.Add(1, new KeyValuePair<string, object?>("model", "a\"b"));
        histogram.Record(0.003);
        histogram.Record(100);
        sizes.Record(3);
        bytes.Add(1024);
        depth.Add(2);
        depth.Add(-1);

        var text = await host.Client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE edgeml_test_requests_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_requests_total{model=\"a\\\"b\"} 3", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE edgeml_test_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"0.0025\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"0.005\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_duration_seconds_bucket{le=\"+Inf\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("\nedgeml_test_duration_seconds_count 2\n", text, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_batch_size_bucket{le=\"4\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("\nedgeml_test_download_bytes_total 1024\n", text, StringComparison.Ordinal);
        Assert.Contains("\nedgeml_test_queue_depth 1\n", text, StringComparison.Ordinal);
        Assert.Contains("\nedgeml_test_level 0.25\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nedgeml_test_broken ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{}", text, StringComparison.Ordinal);
        Assert.DoesNotContain("otel_scope", text, StringComparison.Ordinal);
        Assert.DoesNotContain("target_info", text, StringComparison.Ordinal);

        // No response cache: what changed since the last scrape is in the next one.
        level = 0.5;
        counter.Add(1, new KeyValuePair<string, object?>("model", "a\"b"));
        var next = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("\nedgeml_test_level 0.5\n", next, StringComparison.Ordinal);
        Assert.Contains("edgeml_test_requests_total{model=\"a\\\"b\"} 4", next, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_MoreModelsThanAnInstrumentsSeries_KeepsTheLimitAndCountsTheRestAsOverflow()
    {
        await using var host = await ApiHost.StartAsync();
        using var meter = new Meter("EdgeMl.Test.Series");
        var counter = meter.CreateCounter<long>("edgeml.test.served", "{request}");
        const int models = EdgeMl.Agent.Telemetry.MetricsExposition.SeriesPerInstrument + 10;
        for (var i = 0; i < models; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("model", $"m{i}"));
        }

        var text = await host.Client.GetStringAsync("/metrics");

        var series = text.Split('\n').Where(l => l.StartsWith("edgeml_test_served_total{", StringComparison.Ordinal)).ToList();
        var overflow = Assert.Single(series, l => l.Contains("otel_metric_overflow=\"true\"", StringComparison.Ordinal));
        Assert.Equal(EdgeMl.Agent.Telemetry.MetricsExposition.SeriesPerInstrument + 1, series.Count);
        Assert.Equal(models, series.Sum(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.StartsWith("edgeml_test_served_total{otel_metric_overflow=\"true\"} ", overflow, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_MetricsAfterInference_ServesEngineInstruments()
    {
        await using var host = await ApiHost.StartAsync();
        await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        await host.Engine.InferAsync(Model, new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1))]));

        using var response = await host.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Matches($"edgeml_inference_requests_total\\{{model=\"{Model}\"\\}} 1( |\n)", text);
        Assert.Matches($"edgeml_model_swaps_total\\{{model=\"{Model}\",outcome=\"activated\"\\}} 1( |\n)", text);
        Assert.Matches($"edgeml_inference_duration_seconds_count\\{{model=\"{Model}\"\\}} 1( |\n)", text);
        Assert.DoesNotMatch(new Regex(@"^[^#].* [-+]?(Inf|NaN)", RegexOptions.Multiline), text);
    }
}
