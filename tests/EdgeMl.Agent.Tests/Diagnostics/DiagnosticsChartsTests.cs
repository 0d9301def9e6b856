using System.Net;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>The page's charts from the real <c>/api/history</c>, in headless Chromium, under the page's strict policy.</summary>
public sealed class DiagnosticsChartsTests : IAsyncLifetime
{
    private const string ClassifierOutput = "softmax_0.tmp_0";
    private static readonly LocatorAssertionsToHaveCountOptions Patient = new() { Timeout = 20_000 };
    private readonly List<string> _console = [];
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.Executable))
        {
            return;
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            ChromiumSandbox = false,
            Args = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    [Fact]
    public async Task GetHistory_BeforeAndAfterRequestsAndANewVersion_PerModelMinutesWithTheVersionThatServed()
    {
        await using var host = await ApiHost.StartAsync();
        var empty = JsonNode.Parse(await host.Client.GetStringAsync("/api/history"))!;
        Assert.Empty(empty["models"]!.AsArray());
        Assert.Equal(60, empty["minutes"]!.GetValue<int>());

        await ActivateAsync(host, 1);
        await InferAsync(host, 3);
        await ActivateAsync(host, 2);
        await InferAsync(host, 2);

        var history = JsonNode.Parse(await host.Client.GetStringAsync("/api/history"))!;
        var model = Assert.Single(history["models"]!.AsArray())!;
        Assert.Equal("ocr-cls", model["name"]!.GetValue<string>());
        var points = model["points"]!.AsArray();
        Assert.Equal(5, points.Sum(p => p!["requests"]!.GetValue<long>()));
        Assert.Equal(1, points.First()!["version"]!.GetValue<long>());
        Assert.Equal(2, points.Last()!["version"]!.GetValue<long>());
        Assert.All(points, p => Assert.InRange(p!["p50"]!.GetValue<double>(), 1e-5, p["p99"]!.GetValue<double>()));
    }

    [Theory]
    [InlineData("/api/history")]
    [InlineData("/api/drift")]
    public async Task GetChartData_WithoutTheToken_401(string path)
    {
        await using var host = await ApiHost.StartAsync(o => o.Token = "chart-token");
        using var response = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [ChromiumFact]
    public async Task Page_NoHistoryYet_SaysSoThenDrawsLatencyThroughputVersionAndCaptureFill()
    {
        await using var agent = await FieldAgent.StartAsync();
        var health = JsonNode.Parse(agent.HealthJson)!.AsObject();
        health["capture"] = new JsonObject { ["queued"] = 0, ["records"] = 5120, ["bytes"] = 48_000_000L, ["quotaBytes"] = 256_000_000L, ["dropped"] = new JsonObject() };
        agent.SetHealth(health);
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.Console += (_, m) => _console.Add($"{m.Type}: {m.Text}");
        page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        await page.GotoAsync(new Uri(agent.Address, "/").ToString());

        // FieldAgent's engine served nothing yet: the section says so and the rest of the page works.
        await Expect(page.Locator("#history")).ToContainTextAsync("No requests in the last hour yet.", new() { Timeout = 20_000 });
        await Expect(page.Locator($"[data-model='{FieldAgent.Model}']")).ToContainTextAsync("ready");
        var fill = page.Locator("[data-link='capture'] svg[data-chart='capture-fill'] rect.fill");
        await Expect(fill).ToHaveAttributeAsync("width", "56.3");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-no-history.png"), FullPage = true });

        await InferAsync(agent.Host, 4);
        await ActivateAsync(agent.Host, 2);
        await InferAsync(agent.Host, 3);

        var chart = page.Locator($"[data-history='{FieldAgent.Model}'] svg[data-chart='history']");
        await Expect(chart.Locator("path[data-series='p50']")).ToHaveCountAsync(1, Patient);
        await Expect(chart.Locator("path[data-series='p99']")).ToHaveCountAsync(1);
        await Expect(chart.Locator("rect[data-point='rps']")).ToHaveCountAsync(2);
        await Expect(chart.Locator("line[data-version='2']")).ToHaveCountAsync(1);
        await Expect(page.Locator($"[data-history='{FieldAgent.Model}'] h3")).ToContainTextAsync("7 requests");
        var box = await chart.BoundingBoxAsync();
        Assert.True(box is { Width: > 200, Height: > 60 }, $"the chart is {box?.Width}×{box?.Height}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-charts.png"), FullPage = true });
        Assert.DoesNotContain(_console, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || m.StartsWith("pageerror", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetDrift_BeforeAndAfterTraffic_BaselineProportionsBesideLiveCountsWithTheirDistances()
    {
        await using var agent = await FieldAgent.StartAsync();
        Assert.Empty(JsonNode.Parse(await agent.Host.Client.GetStringAsync("/api/drift"))!["models"]!.AsArray());

        await ObserveDriftAsync(agent.Host, 6);

        var model = Assert.Single(JsonNode.Parse(await agent.Host.Client.GetStringAsync("/api/drift"))!["models"]!.AsArray())!;
        Assert.Equal(FieldAgent.Model, model["name"]!.GetValue<string>());
        Assert.Equal(1, model["version"]!.GetValue<long>());
        var distributions = model["distributions"]!.AsArray();
        Assert.Equal(["x:mean", $"{ClassifierOutput}:class"], distributions.Select(d => d!["key"]!.GetValue<string>()));
        foreach (var d in distributions)
        {
            var baseline = d!["baseline"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var live = d["live"]!.AsArray().Select(v => (double)v!.GetValue<long>()).ToArray();
            Assert.Equal(1, baseline.Sum(), 6);
            Assert.Equal(6, live.Sum());
            Assert.Equal(6, d["samples"]!.GetValue<long>());

            // The figures are those of the bins shown, not of anything the page cannot see.
            Assert.Equal(DriftStatistics.PopulationStabilityIndex(baseline, live), d["psi"]!.GetValue<double>(), 5);
            Assert.Equal(DriftStatistics.KolmogorovSmirnov(baseline, live), d["ks"]!.GetValue<double>(), 5);
            Assert.Equal(DriftStatistics.JensenShannonDistance(baseline, live), d["js"]!.GetValue<double>(), 5);
            Assert.NotEqual("unknown", d["level"]!.GetValue<string>());
        }

        var classes = distributions[1]!;
        Assert.Equal(["0", "180"], classes["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Null(classes["edges"]);
        Assert.Equal(3, distributions[0]!["edges"]!.AsArray().Count);
    }

    [ChromiumFact]
    public async Task Page_DriftMonitoredModel_DrawsBaselineBesideTheLastWindowWithItsLevel()
    {
        await using var agent = await FieldAgent.StartAsync();
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        page.Console += (_, m) => _console.Add($"{m.Type}: {m.Text}");
        await page.GotoAsync(new Uri(agent.Address, "/").ToString());
        await Expect(page.Locator("#drift")).ToContainTextAsync("No served model has a drift baseline.", new() { Timeout = 20_000 });

        await ObserveDriftAsync(agent.Host, 6);

        var classes = page.Locator($"[data-drift='{FieldAgent.Model}/{ClassifierOutput}:class']");
        var chart = classes.Locator("svg[data-chart='drift']");
        await Expect(chart.Locator("rect.base")).ToHaveCountAsync(2, Patient);
        await Expect(chart.Locator("rect.live")).ToHaveCountAsync(2);
        await Expect(chart.Locator("text.label")).ToHaveTextAsync(["0", "180"]);
        await Expect(classes).ToContainTextAsync("6 samples");
        await Expect(classes).ToContainTextAsync("PSI ");
        var means = page.Locator($"[data-drift='{FieldAgent.Model}/x:mean'] svg[data-chart='drift']");
        await Expect(means.Locator("rect.base")).ToHaveCountAsync(2);

        // All six predictions fall into one class against a 50:50 baseline: the live bar of that class is the tallest
        // thing drawn, and the level reads significant.
        await Expect(classes.Locator("h3 .pill")).ToHaveTextAsync("significant");
        var heights = await chart.Locator("rect").EvaluateAllAsync<double[]>("rs => rs.map(r => Number(r.getAttribute('height')))");
        Assert.Equal(heights.Max(), heights[1..].Where((_, i) => i % 2 == 0).Max(), 3);
        var box = await chart.BoundingBoxAsync();
        Assert.True(box is { Width: > 200, Height: > 60 }, $"the chart is {box?.Width}×{box?.Height}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-drift.png"), FullPage = true });
        Assert.DoesNotContain(_console, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || m.StartsWith("pageerror", StringComparison.Ordinal));
    }

    /// <summary>
    /// Monitors the served classifier against a baseline of two equally likely classes and an input mean around 0,
    /// and feeds it <paramref name="count"/> real predictions, as the prediction observer does.
    /// </summary>
    private static async Task ObserveDriftAsync(ApiHost host, int count)
    {
        var registry = host.Services.GetRequiredService<DriftRegistry>();
        registry.Activate(FieldAgent.Model, 1, new DriftBaseline
        {
            Samples = 100,
            Inputs = [new BaselineDistribution { Tensor = "x", Statistic = BaselineStatistic.Mean, Edges = [-1, 0, 1], Counts = [50, 50] }],
            Outputs = [new BaselineDistribution { Tensor = ClassifierOutput, Statistic = BaselineStatistic.Class, Counts = [50, 50], Labels = ["0", "180"] }],
        });
        for (var i = 0; i < count; i++)
        {
            var inputs = new[] { InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 0)) };
            var result = await host.Engine.InferAsync(FieldAgent.Model, new InferenceRequest(inputs));
            Assert.True(result.IsSuccess, result.Error?.Message);
            registry.Observe(FieldAgent.Model, 1, inputs, result.Outputs);
        }
    }

    private static async Task ActivateAsync(ApiHost host, long version)
    {
        var result = await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = FieldAgent.Model,
            Version = version,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        Assert.True(result.Succeeded, result.Failure?.Reason);
    }

    private static async Task InferAsync(ApiHost host, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var result = await host.Engine.InferAsync(FieldAgent.Model, new InferenceRequest(
                [InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, i))]));
            Assert.True(result.IsSuccess, result.Error?.Message);
        }
    }

    private static string Shot(string name) => Path.Combine(AppContext.BaseDirectory, "screenshots", name);
}
