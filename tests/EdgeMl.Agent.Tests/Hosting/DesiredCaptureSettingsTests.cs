using System.Text.Json.Nodes;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Hosting;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Hosting;

/// <summary>A model's <c>capture</c> entry in the twin reaches the capture recorder's settings while the agent runs.</summary>
public sealed class DesiredCaptureSettingsTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Apply_TwinCaptureEntry_ChangesTheModelsPolicyAndKeepsTheStoreUnderTheDataFolder()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeMl:DataDirectory"] = _temp.Sub("data"),
            ["EdgeMl:Capture:Defaults:SampleRate"] = "0.01",
            ["EdgeMl:Desired:models:cls:version"] = "1",
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddAgent(configuration).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<CaptureSettings>>();
        Assert.Equal(0.01, monitor.CurrentValue.For("cls").SampleRate);
        Assert.Equal(Path.Combine(_temp.Sub("data"), "capture", "capture.db"), monitor.CurrentValue.Store.Path);

        services.GetRequiredService<DesiredStateSource>().Apply(new DesiredPropertiesUpdate(
            2, JsonNode.Parse("""{"models":{"cls":{"version":1,"capture":{"sampleRate":0.5,"lowConfidenceThreshold":0.7}}}}""")!.AsObject(), IsFullDocument: true));

        var policy = monitor.CurrentValue.For("cls");
        Assert.Equal(0.5, policy.SampleRate);
        Assert.Equal(0.7, policy.LowConfidenceThreshold);
        Assert.Equal(0.01, monitor.CurrentValue.For("other").SampleRate);
    }
}
