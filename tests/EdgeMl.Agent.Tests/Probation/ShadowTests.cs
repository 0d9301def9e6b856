using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Probation;
using EdgeMl.Agent.Tests.Sync;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Probation;

/// <summary>Shadow evaluation with the real composition and engine: v1 serves under load, v2 runs beside it on copies.</summary>
public sealed class ShadowTests : IDisposable
{
    private const string Model = ProbationTests.Model;
    private readonly RegistryFixture _registry = new();

    public void Dispose() => _registry.Dispose();

    [Fact]
    public async Task ShadowThatAgrees_PromotedThenOnProbation_NoFailedRequest()
    {
        Publish(1, seed: 1);
        Publish(2, seed: 1);
        await using var run = await StartAsync();

        run.SetDesired(Entry());
        await run.Harness.WaitForActiveAsync(Model, 2);
        var failures = await run.StopLoadAsync();

        Assert.Equal(0, failures);
        var shadow = run.Proving.ShadowOf(Model)!;
        Assert.True(shadow.Compared >= 100, shadow.ToString());
        Assert.Equal(1.0, shadow.Agreement);
        await Eventually.UntilAsync(() => run.Services.GetRequiredService<AgentEventLog>().Recent().Any(e => e.Kind == AgentEventKinds.ShadowPromoted && e.Version == 2), "the promotion event");
        await Eventually.UntilAsync(() => run.Proving.ProbationOf(Model) is { Version: 2, Phase: ProbationPhase.OnProbation }, "v2 on probation");
        Assert.Contains("promoted from shadow: shadow v2 agreed on 100 % of", run.Harness.Status.Find(Model)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShadowThatDisagrees_NotPromoted_FiguresReported()
    {
        Publish(1, seed: 1);
        Publish(2, seed: 2);
        await using var run = await StartAsync();

        run.SetDesired(Entry());
        await Eventually.UntilAsync(() => run.Proving.ShadowOf(Model) is { Compared: >= 300 }, "300 compared samples");
        var failures = await run.StopLoadAsync();

        Assert.Equal(0, failures);
        var shadow = run.Proving.ShadowOf(Model)!;
        Assert.True(shadow.Agreement < 0.95, shadow.ToString());
        Assert.Equal(1, shadow.ActiveVersion);
        Assert.NotNull(shadow.ShadowP95Ms);
        Assert.StartsWith("v2 runs as a shadow of v1", shadow.Message, StringComparison.Ordinal);
        Assert.Equal(1, run.Harness.Engine.GetStatus(Model)!.Version);
        Assert.DoesNotContain(run.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.ShadowPromoted);
        var twin = EdgeMl.Agent.Health.HealthJson.ToTwin(run.Services.GetRequiredService<EdgeMl.Agent.Health.HealthCollector>().Collect());
        var reported = twin["proving"]!["shadows"]![0]!;
        Assert.Equal(2, reported["version"]!.GetValue<long>());
        Assert.True(reported["agreement"]!.GetValue<double>() < 0.95);
    }

    [Fact]
    public async Task Tap_FullHandOff_DropsAndCountsNeverWaits()
    {
        using var meters = new TestMeterFactory();
        var tap = new ShadowTap(new ProvingMetrics(meters));
        var folder = _registry.Sub("tap");
        var onnx = _registry.Sub("tap.onnx");
        File.WriteAllBytes(onnx, OnnxFiles.Dense(ProbationTests.Inputs, 8, 8, 1));
        PackageBuilder.Pack(onnx, folder, new PackageBuildOptions { Name = Model, Version = 2 });
        var loaded = await new EdgeMl.Runtime.Sessions.ModelLoader().LoadAsync(ModelPackage.Open(folder).CreateDefinition());
        var run = new ShadowRun(Model, loaded, new EdgeMl.Agent.Desired.ShadowSettings { Version = 2, SampleRate = 1 });
        tap.Set(run);
        var request = new InferenceRequest([InferenceTensor.Create("x", [1, ProbationTests.Inputs], new float[ProbationTests.Inputs])]);
        var result = InferenceResult.Success(Model, 1, [InferenceTensor.Create("y", [1, 8], new float[8])]);

        for (var i = 0; i < ShadowTap.Capacity + 10; i++)
        {
            tap.Observe(new Prediction(Model, request, result, TimeSpan.FromMilliseconds(1))); // nobody reads: the hand-off fills
        }

        Assert.Equal(10, run.State("").Dropped);
        Assert.Equal(ShadowTap.Capacity, tap.Copies.Count);
        run.Retire();
    }

    private static JsonObject Entry() => new()
    {
        ["version"] = 1,
        ["probation"] = new JsonObject { ["duration"] = "01:00:00", ["minRequests"] = 300, ["maxMemoryGrowthMb"] = 1024 * 1024, ["maxP95Ratio"] = 1000 },
        ["shadow"] = new JsonObject
        {
            ["version"] = 2, ["sampleRate"] = 1, ["cpuBudget"] = 1, ["promoteWhen"] = new JsonObject { ["agreement"] = 0.95, ["samples"] = 100 },
        },
    };

    private void Publish(long version, int seed)
    {
        var onnx = _registry.Sub($"dense-{version}.onnx");
        File.WriteAllBytes(onnx, OnnxFiles.Dense(ProbationTests.Inputs, 32, 8, seed));
        var folder = _registry.Sub($"pkg-dense-{version}");
        PackageBuilder.Pack(onnx, folder, new PackageBuildOptions { Name = Model, Version = version, GoldenSamples = 1 });
        PackageBuilder.Sign(folder, _registry.Key);
        TestPackages.PublishToFolder(_registry.Root, folder, _registry.Key, DateTimeOffset.UtcNow.AddDays(2));
    }

    private async Task<ProvingRun> StartAsync()
    {
        var desired = new Dictionary<string, string?> { ["registry"] = _registry.Root, [$"models:{Model}:version"] = "1" };
        var harness = SyncHarness.Create(_registry.DataDirectory, _registry.KeyFile, desired, time: new RealLatencyTime());
        var run = new ProvingRun(harness, _registry.Root, new JsonObject());
        await run.StartAsync();
        return run;
    }
}
