using EdgeMl.Testing;
using Microsoft.Playwright;

namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>
/// A web page on the device, in headless Chromium, whose name the attacker's DNS points at 127.0.0.1 (here by
/// Chromium's host resolver rules): to the browser the agent is then the page's own origin.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class DnsRebindingTests : IAsyncLifetime
{
    private const string AttackerName = "attacker.example";
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
            Args = ["--disable-gpu", "--no-first-run", "--disable-background-networking", $"--host-resolver-rules=MAP {AttackerName} 127.0.0.1"],
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
    public async Task Page_RebindingNameOnTheLoopbackApiWithoutToken_NeitherPageNorDataServed()
    {
        await using var agent = await FieldAgent.StartAsync(token: null);
        var page = await _browser!.NewPageAsync();

        var own = await page.GotoAsync($"http://{AttackerName}:{agent.Address.Port}/");
        var bundle = await page.EvaluateAsync<int>("async () => (await fetch('/api/support-bundle')).status");
        var local = await page.GotoAsync($"http://127.0.0.1:{agent.Address.Port}/");

        Assert.Equal(421, own!.Status);
        Assert.Equal(421, bundle);
        Assert.Equal(200, local!.Status);
    }
}
