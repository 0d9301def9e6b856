using System.Net;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Diagnostics;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>The diagnostics page in headless Chromium against the real API host, as a field engineer would see it.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class DiagnosticsPageTests : IAsyncLifetime
{
    private const string Token = "field-token";
    private static readonly string[] ChromiumArgs =
    [
        "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private static readonly LocatorAssertionsToContainTextOptions Patient = new() { Timeout = 20_000 };
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
            Args = ChromiumArgs,
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

    [ChromiumFact]
    public async Task Page_AgentChangesAndStops_ShowsLiveStateThenUnreachableBanner()
    {
        await using var agent = await FieldAgent.StartAsync(Token);
        var page = await OpenAsync(agent, $"/?token={Token}", 1280, 900);

        var model = page.Locator($"[data-model='{FieldAgent.Model}']");
        var sync = page.Locator($"[data-sync='{FieldAgent.Model}']");
        await Expect(sync).ToContainTextAsync("downloading", Patient);
        await Expect(sync).ToContainTextAsync("40 %");
        await Expect(sync.Locator("progress")).ToHaveAttributeAsync("value", "0.4");
        await Expect(model).ToContainTextAsync("ready");
        await Expect(model).ToContainTextAsync("v1");
        await Expect(model).ToContainTextAsync("cpu (asked: cuda, cpu)");
        await Expect(model).ToContainTextAsync("Degraded: ");
        await Expect(model).ToContainTextAsync("p50 1.25 ms · p99 3.50 ms");
        await Expect(model).ToContainTextAsync("1234 · errors 2");
        await Expect(page.Locator("#status")).ToHaveTextAsync("degraded");
        await Expect(page.Locator("#sync-summary")).ToContainTextAsync("Ready for traffic");
        await Expect(page.Locator("#sync-summary dd").Nth(1)).ToHaveTextAsync("twin");
        await Expect(page.Locator("#device")).ToHaveTextAsync("press-line-7");
        await Expect(page.Locator("[data-link='mqtt']")).ToContainTextAsync("connection refused");
        await Expect(page.Locator("[data-link='disk']")).ToContainTextAsync("12.5 GB of 32.0 GB");
        await Expect(page.Locator("#events")).ToContainTextAsync("agent started");
        await Expect(model.Locator("[data-provider='cpu']")).ToContainTextAsync("in use");
        await Expect(page.Locator("[data-accelerator='onnxruntime']")).ToContainTextAsync("ONNX Runtime 1.32.0gpu flavour");
        await Expect(page.Locator("[data-accelerator='cuda']")).ToContainTextAsync("NVIDIA A2 · 15.7 GB · compute 8.6");
        await Expect(page.Locator("[data-library='libcudnn.so.9']")).ToContainTextAsync("missing libcudnn.so.9: libcudnn.so.9: cannot open shared object file");
        Assert.DoesNotContain("token", page.Url, StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-downloading.png"), FullPage = true });

        agent.SetHealth(phase: "active", progress: null, message: null, status: "healthy", notReady: "the agent is shutting down");
        agent.AddEvent("activated", FieldAgent.Model, 2, "v2 serving on cpu");

        await Expect(sync).ToContainTextAsync("active", Patient);
        await Expect(sync.Locator("progress")).ToHaveCountAsync(0);
        await Expect(page.Locator("#status")).ToHaveTextAsync("healthy");
        await Expect(page.Locator("#sync-summary")).ToContainTextAsync("no: the agent is shutting down");
        await Expect(page.Locator("#events li").First).ToContainTextAsync("ocr-cls v2: v2 serving on cpu", Patient);
        await Expect(page.Locator("#banner")).ToBeHiddenAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-active.png"), FullPage = true });

        await agent.DisposeAsync();

        await Expect(page.Locator("#banner")).ToContainTextAsync("Agent unreachable at http://127.0.0.1:", Patient);
        await Expect(page.Locator("#status")).ToHaveTextAsync("unreachable");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-unreachable.png"), FullPage = true });
        Assert.DoesNotContain(_console, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    [ChromiumFact]
    public async Task Page_TokenMissing_SaysHowToPassIt()
    {
        await using var agent = await FieldAgent.StartAsync(Token);
        var page = await OpenAsync(agent, "/diagnostics", 1280, 900);

        await Expect(page.Locator("#banner")).ToContainTextAsync("The agent needs a token: open this page as", Patient);
        await Expect(page.Locator("#banner")).ToContainTextAsync("/diagnostics?token=YOUR_TOKEN");
        await Expect(page.Locator("#status")).ToHaveTextAsync("token needed");
    }

    [ChromiumFact]
    public async Task Page_PhoneWidthAndSparseDocument_RendersWithoutScriptErrors()
    {
        await using var agent = await FieldAgent.StartAsync();
        agent.SetHealth(new System.Text.Json.Nodes.JsonObject
        {
            ["status"] = "unhealthy",
            ["models"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["name"] = "det", ["state"] = "failed" }),
            ["sync"] = null,
        });
        var page = await OpenAsync(agent, "/", 390, 844);

        await Expect(page.Locator("[data-model='det']")).ToContainTextAsync("failed", Patient);
        await Expect(page.Locator("#status")).ToHaveTextAsync("unhealthy");
        await Expect(page.Locator("[data-link='capture']")).ToContainTextAsync("Capture is not enabled.");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-phone.png"), FullPage = true });
        Assert.DoesNotContain(_console, m => m.StartsWith("error", StringComparison.Ordinal) || m.StartsWith("pageerror", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Get_Page_ServedWithoutTokenUnderStrictPolicy()
    {
        await using var agent = await FieldAgent.StartAsync(Token);

        using var root = await agent.Host.Client.GetAsync("/");
        using var api = await agent.Host.Client.GetAsync("/api/health");

        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        Assert.Equal("text/html", root.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(";", root.Headers.GetValues("Content-Security-Policy"));
        Assert.Equal(DiagnosticsPage.ContentSecurityPolicy, policy);
        Assert.Matches(new Regex("script-src 'sha256-[A-Za-z0-9+/=]{44}';"), policy);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("<title>EdgeMl diagnostics</title>", await root.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [ChromiumFact]
    public async Task Page_RealAgentProcess_ShowsWhatTheRealHealthApiReports()
    {
        using var temp = new TestPackages.TempFolder();
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(temp.Sub("pkg"), "ocr-cls", 1, key);
        TestPackages.PublishToFolder(temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(temp.Path, "trust.pem"), key.ExportPublicKeyPem());
        await using var agent = EndToEnd.AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={Path.Combine(temp.Path, "trust.pem")}",
            $"--EdgeMl:Http:Token={Token}-0123456789",
            $"--EdgeMl:Mqtt:EmbeddedPort={EndToEnd.AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={temp.Sub("registry")}",
            "--EdgeMl:Desired:models:ocr-cls:version=latest",
            "--EdgeMl:Desired:models:ocr-cls:providers=cuda,cpu",
        ]);
        await agent.WaitUntilLiveAsync();
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        await page.GotoAsync($"http://127.0.0.1:{agent.HttpPort}/?token={Token}-0123456789");

        var model = page.Locator("[data-model='ocr-cls']");
        await Expect(model).ToContainTextAsync("ready", Patient);
        await Expect(model).ToContainTextAsync("v1");
        await Expect(model).ToContainTextAsync("cpu (asked: cuda, cpu)");
        // The real self-check and provider report of this build on this machine (CI runs the cpu and gpu flavours).
        await Expect(model.Locator("[data-provider='cuda']")).ToContainTextAsync(
            EdgeMl.Runtime.Providers.OnnxRuntimeBuild.Flavour == "gpu" ? "libraries missing cuda: in this ONNX Runtime build, but its libraries do not load: libcublasLt.so.13" : "not in build cuda: CUDAExecutionProvider is not in this ONNX Runtime build");
        await Expect(page.Locator("[data-accelerator='onnxruntime']")).ToContainTextAsync($"ONNX Runtime 1.32.0{EdgeMl.Runtime.Providers.OnnxRuntimeBuild.Flavour} flavour");
        await Expect(page.Locator("[data-library='libcuda.so.1']")).ToContainTextAsync("libcuda.so.1");
        await Expect(page.Locator("[data-sync='ocr-cls']")).ToContainTextAsync("active", Patient);
        await Expect(page.Locator("#status")).ToHaveTextAsync("degraded");
        await Expect(page.Locator("#events")).ToContainTextAsync("activated", Patient);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("diagnostics-real-agent.png"), FullPage = true });
        Assert.DoesNotContain(_console, c => c.StartsWith("pageerror", StringComparison.Ordinal));
    }

    private async Task<IPage> OpenAsync(FieldAgent agent, string path, int width, int height)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.Console += (_, m) => _console.Add($"{m.Type}: {m.Text}");
        page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        await page.GotoAsync(new Uri(agent.Address, path).ToString());
        return page;
    }

    private static string Shot(string name) => Path.Combine(AppContext.BaseDirectory, "screenshots", name);
}
