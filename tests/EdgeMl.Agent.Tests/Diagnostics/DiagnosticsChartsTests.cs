using System.Net;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>The page's charts from the real <c>/api/history</c>, in headless Chromium, under the page's strict policy.</summary>
public sealed class DiagnosticsChartsTests : IAsyncLifetime
{
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

    [Fact]
    public async Task GetHistory_WithoutTheToken_401()
    {
        await using var host = await ApiHost.StartAsync(o => o.Token = "chart-token");
        using var response = await host.Client.GetAsync("/api/history");
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
