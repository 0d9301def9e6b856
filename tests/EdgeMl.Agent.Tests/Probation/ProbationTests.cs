using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Probation;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Tests.Sync;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Probation;

/// <summary>
/// Probation with the agent's real composition, engine and store: v1 serves under load, v2 is promoted through the
/// twin, and the probation judge decides on live traffic; the windows run on a fake clock, latencies are real.
/// </summary>
public sealed class ProbationTests : IDisposable
{
    internal const string Model = "dense";
    internal const int Inputs = 64;
    private readonly RegistryFixture _registry = new();

    public void Dispose() => _registry.Dispose();

    [Fact]
    public async Task V2WithDifferentOutputs_RolledBackUnderLoad_NoFailedRequest()
    {
        PublishDense(1, hidden: 32, seed: 1);
        PublishDense(2, hidden: 32, seed: 2); // same signature, other weights
        await using var run = await StartAsync(new JsonObject { ["maxP95Ratio"] = 1000 });

        var verdict = await run.PromoteAndWaitAsync(2, s => s.Phase == SyncPhase.Refused);

        Assert.Equal(1, verdict.ActiveVersion);
        Assert.Matches(@"^v2 rolled back after \d+ requests: output y PSI \d+\.\d\d against v1", verdict.Message);
        await run.AssertRolledBackAsync(2, 1, verdict.Message!);
    }

    [Fact]
    public async Task V2SlowerBeyondThreshold_RolledBackUnderLoad_NoFailedRequest()
    {
        PublishDense(1, hidden: 16, seed: 1);
        PublishDense(2, hidden: 2048, seed: 1); // same signature, far more compute
        await using var run = await StartAsync(new JsonObject { ["maxP95Ratio"] = 3, ["minP95IncreaseMs"] = 0, ["maxPsi"] = 100 });

        var verdict = await run.PromoteAndWaitAsync(2, s => s.Phase == SyncPhase.Refused);

        Assert.Equal(1, verdict.ActiveVersion);
        Assert.Matches(@"^v2 rolled back after \d+ requests: p95 \d+\.\d× v1", verdict.Message);
        await run.AssertRolledBackAsync(2, 1, verdict.Message!);
    }

    [Fact]
    public async Task HealthyV2_PassesProbation_RecordedGood()
    {
        PublishDense(1, hidden: 32, seed: 1);
        PublishDense(2, hidden: 32, seed: 1);
        await using var run = await StartAsync(new JsonObject { ["maxP95Ratio"] = 20 });

        await run.PromoteAndWaitAsync(2, s => s.Phase == SyncPhase.Active && s.ActiveVersion == 2);
        await Eventually.UntilAsync(() => run.Proving.ProbationOf(Model) is { Phase: ProbationPhase.OnProbation, Requests: >= 300 }, "300 requests on v2");
        await Eventually.AdvanceUntilAsync(run.Time, () => run.Proving.ProbationOf(Model)?.Phase != ProbationPhase.OnProbation, "a verdict on v2", TimeSpan.FromMinutes(5));
        var failures = await run.StopLoadAsync();

        var state = run.Proving.ProbationOf(Model)!;
        Assert.True(state.Phase == ProbationPhase.Passed, state.Message);
        Assert.StartsWith("v2 passed probation after ", state.Message, StringComparison.Ordinal);
        Assert.Equal(0, failures);
        Assert.Equal(2, run.Harness.Engine.GetStatus(Model)!.Version);
        Assert.Equal([1L, 2L], run.Services.GetRequiredService<GoodVersions>().Read(Model).Good);
        Assert.Contains(run.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.ProbationPassed && e.Version == 2);
    }

    private void PublishDense(long version, int hidden, int seed)
    {
        var onnx = _registry.Sub($"dense-{version}.onnx");
        File.WriteAllBytes(onnx, OnnxFiles.Dense(Inputs, hidden, 8, seed));
        var folder = _registry.Sub($"pkg-dense-{version}");
        PackageBuilder.Pack(onnx, folder, new PackageBuildOptions { Name = Model, Version = version, GoldenSamples = 1 });
        PackageBuilder.Sign(folder, _registry.Key);
        TestPackages.PublishToFolder(_registry.Root, folder, _registry.Key, DateTimeOffset.UtcNow.AddDays(2));
    }

    private async Task<ProvingRun> StartAsync(JsonObject probation)
    {
        probation["duration"] = "01:00:00";
        probation["minRequests"] = 300;
        probation["maxMemoryGrowthMb"] = 1024 * 1024; // the test process loads other tests' models at the same time
        var desired = new Dictionary<string, string?> { ["registry"] = _registry.Root, [$"models:{Model}:version"] = "1" };
        var harness = SyncHarness.Create(_registry.DataDirectory, _registry.KeyFile, desired, time: new RealLatencyTime());
        var run = new ProvingRun(harness, _registry.Root, probation);
        await run.StartAsync();
        return run;
    }
}

/// <summary>A fake clock for windows and timers whose timestamps are real, so measured latencies are real.</summary>
internal sealed class RealLatencyTime() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    public override long TimestampFrequency => Stopwatch.Frequency;

    public override long GetTimestamp() => Stopwatch.GetTimestamp();
}

/// <summary>The harness with probation started and a steady load of callers through the prediction pipeline.</summary>
internal sealed class ProvingRun(SyncHarness harness, string registry, JsonObject probation) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopLoad = new();
    private readonly CancellationTokenSource _stop = new();
    private Task<int>[] _callers = [];
    private long _twinVersion = 1;

    public SyncHarness Harness => harness;

    public IServiceProvider Services => harness.Services;

    public FakeTimeProvider Time => harness.Time;

    public ProvingStatus Proving => Services.GetRequiredService<ProvingStatus>();

    public ProbationService Probation => Services.GetRequiredService<ProbationService>();

    public ShadowService Shadow => Services.GetRequiredService<ShadowService>();

    public async Task StartAsync()
    {
        await Probation.StartAsync(_stop.Token); // subscribes before sync serves anything
        await Shadow.StartAsync(_stop.Token);
        await harness.StartAsync();
        await harness.WaitForActiveAsync(ProbationTests.Model, 1);
        var pipeline = Services.GetRequiredService<PredictionPipeline>();
        _callers = [.. Enumerable.Range(0, 3).Select(i => Task.Run(() => CallAsync(pipeline, i, _stopLoad.Token)))];
        await Eventually.UntilAsync(() => Services.GetRequiredService<TrafficWindows>().Find(ProbationTests.Model, 1)?.Requests >= 600, "600 requests on v1");
    }

    /// <summary>Sets the twin's desired entry of the model (with the registry); returns at once.</summary>
    public void SetDesired(JsonObject entry) =>
        harness.ApplyTwin(++_twinVersion, new JsonObject { ["registry"] = registry, ["models"] = new JsonObject { [ProbationTests.Model] = entry } });

    /// <summary>Sets the twin's desired version (keeping the registry and probation settings) and waits for the model's state to match.</summary>
    public async Task<ModelSyncState> PromoteAndWaitAsync(long version, Func<ModelSyncState, bool> match, JsonObject? extra = null)
    {
        var entry = new JsonObject { ["version"] = version, ["probation"] = probation.DeepClone() };
        foreach (var (key, value) in extra ?? [])
        {
            entry[key] = value?.DeepClone();
        }

        harness.ApplyTwin(++_twinVersion, new JsonObject { ["registry"] = registry, ["models"] = new JsonObject { [ProbationTests.Model] = entry } });
        return await harness.WaitForAsync(ProbationTests.Model, match, "the expected state");
    }

    public async Task AssertRolledBackAsync(long refused, long good, string reason)
    {
        var failures = await StopLoadAsync();
        Assert.Equal(0, failures);
        Assert.Equal(good, harness.Engine.GetStatus(ProbationTests.Model)!.Version);
        Assert.Equal(good, harness.Store.GetActive(ProbationTests.Model)!.Version);
        Assert.Equal(refused, harness.Store.GetLastRejection(ProbationTests.Model)!.Version);
        Assert.DoesNotContain(refused, Services.GetRequiredService<GoodVersions>().Read(ProbationTests.Model).Good);
        Assert.Equal(ProbationPhase.RolledBack, Proving.ProbationOf(ProbationTests.Model)!.Phase);
        Assert.Contains(Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.RolledBack && e.Message.Contains(reason, StringComparison.Ordinal));

        // The verdict as health, the twin and the page read it.
        var health = Services.GetRequiredService<HealthCollector>().Collect();
        foreach (var document in new[] { HealthJson.ToNode(health), HealthJson.ToTwin(health) })
        {
            var probation = document["proving"]!["probation"]![0]!;
            Assert.Equal("rolledBack", probation["phase"]!.GetValue<string>());
            Assert.Equal(reason, probation["message"]!.GetValue<string>());
        }

        // The next passes keep the refusal: v2 is not promoted again under the same settings.
        Time.Advance(TimeSpan.FromSeconds(1));
        harness.Sync.Wake();
        var again = await harness.WaitForPhaseAsync(ProbationTests.Model, SyncPhase.Refused);
        Assert.Equal(good, again.ActiveVersion);
    }

    /// <returns>The requests that failed while the load ran.</returns>
    public async Task<int> StopLoadAsync()
    {
        await _stopLoad.CancelAsync();
        return (await Task.WhenAll(_callers)).Sum();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopLoad.CancelAsync();
        await Task.WhenAll(_callers);
        await _stop.CancelAsync();
        using var guard = new CancellationTokenSource(SyncHarness.Guard);
        await Shadow.StopAsync(guard.Token);
        await Probation.StopAsync(guard.Token);
        await harness.DisposeAsync();
        _stopLoad.Dispose();
        _stop.Dispose();
    }

    private static async Task<int> CallAsync(PredictionPipeline pipeline, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            var input = new float[ProbationTests.Inputs];
            for (var i = 0; i < input.Length; i++)
            {
                input[i] = (float)((random.NextDouble() * 2) - 1);
            }

            var result = await pipeline.InferAsync(ProbationTests.Model, new InferenceRequest([InferenceTensor.Create("x", [1, ProbationTests.Inputs], input)]), null, CancellationToken.None);
            failures += result.IsSuccess ? 0 : 1;
        }

        return failures;
    }
}
