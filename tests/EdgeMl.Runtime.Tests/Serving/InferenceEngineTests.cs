using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace EdgeMl.Runtime.Tests.Serving;

public sealed class InferenceEngineTests
{
    private const int RetiredEvent = 1006;

    /// <summary>A version whose load finishes after the engine stopped is not served by the engine nobody unloads any more.</summary>
    [Fact]
    public async Task Activate_LoadEndingAfterTheEngineWasDisposed_IsDisposedNotServed()
    {
        var engine = Classifier.Engine(out _);
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            WarmUp = new WarmUpOptions { Runs = 30, Shapes = { ["x"] = [4, 3, 48, 960] } },
        };
        var activation = engine.ActivateAsync(definition);

        engine.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => activation);
        Assert.Null(engine.GetStatus(Classifier.Name));
    }

    [Fact]
    public async Task TensorNames_AreTheActiveVersionsInputsThenOutputs_EmptyWithoutOne()
    {
        using var engine = Classifier.Engine(out _);
        Assert.Empty(engine.TensorNames(Classifier.Name));

        Assert.True((await engine.ActivateAsync(Classifier.Definition(version: 1))).Succeeded);

        Assert.Equal(["x", "softmax_0.tmp_0"], engine.TensorNames(Classifier.Name));
        Assert.Empty(engine.TensorNames("unknown"));
    }

    [Fact]
    public async Task Activate_WhileEightCallersRun_SwapsFiveTimesWithZeroFailedRequests()
    {
        using var engine = Classifier.Engine(out var logger);
        Assert.True((await engine.ActivateAsync(Classifier.Definition(version: 1))).Succeeded);
        using var stop = new CancellationTokenSource();
        var served = new System.Collections.Concurrent.ConcurrentDictionary<long, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            var input = Classifier.Request(c);
            while (!stop.IsCancellationRequested)
            {
                var result = await engine.InferAsync(Classifier.Name, input);
                if (result.IsSuccess)
                {
                    served.AddOrUpdate(result.Version, 1, (_, n) => n + 1);
                }
                else
                {
                    failures.Enqueue(result.Error!.ToString());
                }
            }
        })).ToArray();

        for (var version = 2; version <= 6; version++)
        {
            var activation = await engine.ActivateAsync(Classifier.Definition(version: version));
            Assert.True(activation.Succeeded, activation.Failure?.Reason);
            Assert.Equal(version - 1, activation.PreviousVersion);
        }

        // Callers on a loaded machine may not have run since the last swap; let one see it before stopping.
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!served.ContainsKey(6) && DateTime.UtcNow < guard && !callers.Any(c => c.IsCompleted))
        {
            await Task.Delay(10);
        }

        stop.Cancel();
        await Task.WhenAll(callers);

        Assert.Empty(failures);
        Assert.True(served.ContainsKey(1) && served.ContainsKey(6), $"versions served: {string.Join(", ", served)}");
        Assert.Equal(6, engine.GetStatus(Classifier.Name)!.Version);
        Assert.Equal(5, logger.Count(RetiredEvent));
    }

    [Fact]
    public async Task Activate_CandidateFailsGoldenCheck_RunningVersionKeepsServing()
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(version: 1));

        var result = await engine.ActivateAsync(Classifier.Definition(version: 2, golden: [Classifier.Golden(1, perturb: 0.5f)]));

        Assert.False(result.Succeeded);
        Assert.Equal(ModelLoadStage.GoldenCheck, result.Failure!.Stage);
        Assert.Equal(1, result.PreviousVersion);
        var status = engine.GetStatus(Classifier.Name)!;
        Assert.Equal((ModelState.Ready, 1L, 2L), (status.State, status.Version!.Value, status.LastFailure!.Version));
        var answer = await engine.InferAsync(Classifier.Name, Classifier.Request(1));
        Assert.True(answer.IsSuccess);
        Assert.Equal(1, answer.Version);
    }

    [Theory]
    [InlineData(ModelLoadStage.Session)]
    [InlineData(ModelLoadStage.WarmUp)]
    public async Task Activate_CandidateFailsToLoadOrWarmUp_RunningVersionKeepsServing(ModelLoadStage stage)
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(version: 1));
        var broken = Path.Combine(Path.GetTempPath(), $"edgeml-broken-{Guid.NewGuid():N}.onnx");
        await File.WriteAllBytesAsync(broken, (await File.ReadAllBytesAsync(ModelFixtures.Classifier))[..4096]);
        try
        {
            var candidate = new ModelDefinition
            {
                Name = Classifier.Name,
                Version = 2,
                ModelPath = stage == ModelLoadStage.Session ? broken : ModelFixtures.Classifier,
                WarmUp = new WarmUpOptions { Shapes = { ["x"] = [1, 4, 48, 192] } },
            };

            var result = await engine.ActivateAsync(candidate);

            Assert.Equal((stage, 1L), (result.Failure!.Stage, result.PreviousVersion!.Value));
            var status = engine.GetStatus(Classifier.Name)!;
            Assert.Equal((ModelState.Ready, 1L, 2L), (status.State, status.Version!.Value, status.LastFailure!.Version));
            var answer = await engine.InferAsync(Classifier.Name, Classifier.Request(1));
            Assert.True(answer.IsSuccess, answer.Error?.Message);
            Assert.Equal(1, answer.Version);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public async Task Rollback_AfterActivation_ServesThePreviousVersion()
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(version: 1));
        await engine.ActivateAsync(Classifier.Definition(version: 2));

        var result = await engine.RollbackAsync(Classifier.Name);

        Assert.True(result.Succeeded);
        Assert.Equal((1L, 2L), (result.Version, result.PreviousVersion!.Value));
        Assert.Equal(1, (await engine.InferAsync(Classifier.Name, Classifier.Request(1))).Version);
    }

    [Fact]
    public async Task Infer_UnknownModelOrVersion_IsModelNotFound()
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(version: 3));

        var unknown = await engine.InferAsync("ocr-det", Classifier.Request(1));
        var otherVersion = await engine.InferAsync(Classifier.Name, Classifier.Request(1), version: 2);

        Assert.Equal(new InferenceError(InferenceErrorKind.ModelNotFound, "model 'ocr-det' is not served"), unknown.Error);
        Assert.Equal(new InferenceError(InferenceErrorKind.ModelNotFound, "model 'ocr-cls' version 2 is not served; the active version is 3"), otherVersion.Error);
        Assert.True((await engine.InferAsync(Classifier.Name, Classifier.Request(1), version: 3)).IsSuccess);
    }

    [Fact]
    public async Task Infer_AllTurnsTakenAndQueueFull_IsOverloadedAtOnce()
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(serving: new ServingOptions { MaxConcurrency = 1, MaxQueue = 1 }));
        var turns = ((DirectExecutor)engine.ExecutorOf(Classifier.Name)!).Turns;
        turns.Wait();

        var waiting = engine.InferAsync(Classifier.Name, Classifier.Request(1)).AsTask();
        var rejected = engine.InferAsync(Classifier.Name, Classifier.Request(2)).AsTask();

        Assert.True(rejected.IsCompleted);
        Assert.Equal(
            new InferenceError(InferenceErrorKind.Overloaded, "model 'ocr-cls' is overloaded: 1 running and 1 waiting"),
            (await rejected).Error);
        Assert.False(waiting.IsCompleted);
        turns.Release();
        Assert.True((await waiting).IsSuccess);
    }

    [Fact]
    public async Task Infer_InvalidRequestWhileEveryTurnIsTaken_IsInvalidAtOnceNotQueuedForTheSession()
    {
        // With no turn free and no queue, anything that reached the executor would be "overloaded": an invalid
        // request is answered before it, so it never comes near ONNX Runtime.
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(serving: new ServingOptions { MaxConcurrency = 1, MaxQueue = 0 }));
        var turns = ((DirectExecutor)engine.ExecutorOf(Classifier.Name)!).Turns;
        turns.Wait();
        try
        {
            var wrongType = engine.InferAsync(Classifier.Name, new InferenceRequest([InferenceTensor.Create("x", [1, 3, 48, 192], new double[3 * 48 * 192])])).AsTask();
            var valid = engine.InferAsync(Classifier.Name, Classifier.Request(1)).AsTask();

            Assert.True(wrongType.IsCompleted);
            Assert.Equal(InferenceErrorKind.InvalidInput, (await wrongType).Error!.Kind);
            Assert.Equal(InferenceErrorKind.Overloaded, (await valid).Error!.Kind);
        }
        finally
        {
            turns.Release();
        }
    }

    [Fact]
    public async Task Infer_RequestWaitingForATurn_CountedInQueueDepthUntilItRuns()
    {
        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        using var depth = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.inference.queue_depth");
        await engine.ActivateAsync(Classifier.Definition(serving: new ServingOptions { MaxConcurrency = 1, MaxQueue = 4 }));
        var turns = ((DirectExecutor)engine.ExecutorOf(Classifier.Name)!).Turns;
        turns.Wait();

        var waiting = engine.InferAsync(Classifier.Name, Classifier.Request(1)).AsTask();
        var whileWaiting = depth.GetMeasurementSnapshot().Sum(m => m.Value);
        turns.Release();
        var answer = await waiting;

        Assert.Equal(1, whileWaiting);
        Assert.True(answer.IsSuccess, answer.Error?.Message);
        Assert.Equal(0, depth.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(depth.GetMeasurementSnapshot(), m => Assert.Equal("ocr-cls", m.Tags["model"]));
    }

    [Fact]
    public async Task Infer_CancelledWhileWaiting_IsCancelledAndFreesItsPlace()
    {
        using var engine = Classifier.Engine(out _);
        await engine.ActivateAsync(Classifier.Definition(serving: new ServingOptions { MaxConcurrency = 1, MaxQueue = 1 }));
        var turns = ((DirectExecutor)engine.ExecutorOf(Classifier.Name)!).Turns;
        turns.Wait();
        using var cancel = new CancellationTokenSource();

        var waiting = engine.InferAsync(Classifier.Name, Classifier.Request(1), cancellationToken: cancel.Token).AsTask();
        await cancel.CancelAsync();

        Assert.Equal(InferenceErrorKind.Canceled, (await waiting).Error!.Kind);
        turns.Release();
        Assert.True((await engine.InferAsync(Classifier.Name, Classifier.Request(1))).IsSuccess);
    }

    [Fact]
    public async Task Infer_Metrics_CountRequestsFailuresBatchesAndSwaps()
    {
        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        using var requests = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.inference.requests");
        using var failures = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.inference.failures");
        using var swaps = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.model.swaps");
        using var duration = new MetricCollector<double>(meters, RuntimeMetrics.MeterName, "edgeml.inference.duration");

        await engine.ActivateAsync(Classifier.Definition(version: 1));
        await engine.ActivateAsync(Classifier.Definition(version: 2, golden: [Classifier.Golden(1, perturb: 1)]));
        await engine.InferAsync(Classifier.Name, Classifier.Request(1));
        await engine.InferAsync(Classifier.Name, new InferenceRequest([]));

        Assert.Equal(2, requests.GetMeasurementSnapshot().EvaluateAsCounter());
        var failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(("ocr-cls", "invalid_input"), ((string)failure.Tags["model"]!, (string)failure.Tags["reason"]!));
        Assert.Equal(["activated", "refused"], swaps.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!));
        Assert.Single(duration.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Infer_ThousandsOfMadeUpNames_CountedUnderOneUnknownLabel()
    {
        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        using var requests = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.inference.requests");
        using var failures = new MetricCollector<long>(meters, RuntimeMetrics.MeterName, "edgeml.inference.failures");
        await engine.ActivateAsync(Classifier.Definition(version: 1));

        for (var i = 0; i < 2000; i++)
        {
            Assert.Equal(InferenceErrorKind.ModelNotFound, (await engine.InferAsync($"made-up-{i}", Classifier.Request(1))).Error!.Kind);
        }

        await engine.InferAsync(Classifier.Name, Classifier.Request(1));

        Assert.Equal(["ocr-cls", "unknown"], requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["model"]!).Distinct().Order());
        Assert.Equal(2000, requests.GetMeasurementSnapshot().Where(m => (string)m.Tags["model"]! == RuntimeMetrics.UnknownModel).EvaluateAsCounter());
        Assert.Equal(["unknown"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["model"]!).Distinct());
    }
}
