using System.Text.Json.Nodes;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Hosting;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>
/// A model's capture policy from the twin's desired properties, composed as the host composes it
/// (<see cref="DesiredCaptureSettings"/> over <c>EdgeMl:Capture</c>): the recorder follows each desired change.
/// </summary>
public sealed class CaptureDesiredPolicyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("edgeml-capture-desired-").FullName;

    [Fact]
    public void Capture_TwinSetsAndThenRemovesModelPolicy_RecorderFollowsEachChange()
    {
        using var services = Build(new() { ["Capture:Defaults:SampleRate"] = "0" });
        var desired = services.GetRequiredService<DesiredStateSource>();
        var recorder = services.GetRequiredService<CaptureRecorder>();
        var monitor = services.GetRequiredService<IOptionsMonitor<CaptureSettings>>();

        var before = Capture(recorder);
        desired.Apply(new DesiredPropertiesUpdate(2, Json("""{"models":{"cls":{"version":1,"capture":{"sampleRate":1,"maxRecordBytes":4096}}}}"""), IsFullDocument: true));
        var fromTwin = monitor.CurrentValue.For("cls");
        var during = Capture(recorder);
        desired.Apply(new DesiredPropertiesUpdate(3, Json("""{"models":{"cls":{"capture":null}}}"""), IsFullDocument: false));
        var after = Capture(recorder);

        Assert.Equal(CaptureOutcome.NotSelected, before);
        Assert.Equal((1.0, 4096), (fromTwin.SampleRate, fromTwin.MaxRecordBytes));
        Assert.Equal(0, monitor.CurrentValue.For("other").SampleRate);
        Assert.Equal(CaptureOutcome.Queued, during);
        Assert.Equal(CaptureOutcome.NotSelected, after);
        Assert.Equal(Path.Combine(_folder, "capture", "capture.db"), monitor.CurrentValue.Store.Path);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    private static CaptureOutcome Capture(CaptureRecorder recorder) => recorder.Capture(
        new InferenceRequest([InferenceTensor.Create("x", [1], new float[] { 1 })]),
        InferenceResult.Success("cls", 1, []),
        TimeSpan.Zero,
        "cpu");

    private ServiceProvider Build(Dictionary<string, string?> values)
    {
        values["Capture:Store:Path"] = Path.Combine("capture", "capture.db");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.Configure<AgentOptions>(o => o.DataDirectory = _folder);
        services.AddSingleton(sp => new DesiredStateSource(configuration, sp.GetRequiredService<IOptions<AgentOptions>>(), NullLogger<DesiredStateSource>.Instance));
        services.AddCapture(configuration);
        // As AgentServiceCollectionExtensions registers it.
        services.AddSingleton<DesiredCaptureSettings>();
        services.AddSingleton<IPostConfigureOptions<CaptureSettings>>(sp => sp.GetRequiredService<DesiredCaptureSettings>());
        services.AddSingleton<IOptionsChangeTokenSource<CaptureSettings>>(sp => sp.GetRequiredService<DesiredCaptureSettings>());
        return services.BuildServiceProvider();
    }
}
