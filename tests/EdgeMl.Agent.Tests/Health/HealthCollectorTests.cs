using System.Text.Json;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Health;

/// <summary>The health document from a real engine serving the PaddleOCR classifier.</summary>
public sealed class HealthCollectorTests : IAsyncLifetime
{
    private HealthTestKit _kit = null!;

    public Task InitializeAsync()
    {
        _kit = HealthTestKit.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task Collect_CudaCpuChainOnCpuBuild_ModelDegradedWithReasonAndStatusDegraded()
    {
        var activation = await _kit.ActivateClassifierAsync(ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));
        Assert.True(activation.Succeeded, activation.Failure?.Reason);

        var health = _kit.Collector.Collect();

        var model = Assert.Single(health.Models);
        Assert.Equal(("ocr-cls", "ready", 1L, "cpu"), (model.Name, model.State, model.Version, model.Provider));
        Assert.Equal(["cuda", "cpu"], model.RequestedProviders);
        Assert.True(model.Degraded);
        Assert.StartsWith("cuda unavailable (", model.DegradedReason, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Degraded, health.Status);
    }

    [Fact]
    public async Task Collect_CpuOnlyServing_Healthy()
    {
        Assert.True((await _kit.ActivateClassifierAsync()).Succeeded);

        var health = _kit.Collector.Collect();

        Assert.False(Assert.Single(health.Models).Degraded);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.Equal("dev-1", health.DeviceId);
        Assert.Null(health.Capture);
        Assert.False(health.Hub.Configured);
        Assert.False(health.Broker.Configured);
    }

    [Fact]
    public async Task Collect_FailedActivation_LastFailureWithStageAndUnhealthy()
    {
        var broken = Path.Combine(_kit.DataDirectory, "broken.onnx");
        await File.WriteAllTextAsync(broken, "this is not an ONNX model");

        var activation = await _kit.ActivateClassifierAsync(modelPath: broken, version: 4);
        var health = _kit.Collector.Collect();

        Assert.False(activation.Succeeded);
        var model = Assert.Single(health.Models);
        Assert.Equal("failed", model.State);
        Assert.Null(model.Version);
        Assert.Equal((4L, "session"), (model.LastFailure!.Version, model.LastFailure.Stage));
        Assert.False(string.IsNullOrEmpty(model.LastFailure.Reason));
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
    }

    [Fact]
    public async Task Collect_AfterRequests_CountsErrorsAndLatencyPercentiles()
    {
        Assert.True((await _kit.ActivateClassifierAsync()).Succeeded);
        for (var i = 0; i < 20; i++)
        {
            var result = await _kit.Engine.InferAsync(HealthTestKit.Model, new InferenceRequest([
                InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, i))]));
            Assert.True(result.IsSuccess, result.Error?.Message);
        }

        var wrong = await _kit.Engine.InferAsync(HealthTestKit.Model, new InferenceRequest([InferenceTensor.Create("nope", [1], new float[1])]));

        var model = Assert.Single(_kit.Collector.Collect().Models);
        Assert.False(wrong.IsSuccess);
        Assert.Equal((21L, 1L), (model.Requests, model.Errors));
        Assert.True(model.LatencyMs.P50 > 0, $"p50 {model.LatencyMs.P50}");
        Assert.True(model.LatencyMs.P99 >= model.LatencyMs.P50, $"p50 {model.LatencyMs.P50} p99 {model.LatencyMs.P99}");
    }

    [Fact]
    public void Percentiles_OneToHundred_NearestRank()
    {
        var samples = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToArray();

        var latency = RequestStatistics.Percentiles(samples);

        Assert.Equal((50d, 99d), (latency.P50!.Value, latency.P99!.Value));
        Assert.Equal(new LatencyHealth(null, null), RequestStatistics.Percentiles([]));
    }

    [Fact]
    public void Collect_SyncStates_ReportedPerModelAndRefusedWithoutServingIsUnhealthy()
    {
        _kit.Sync.Set(new ModelSyncState("ocr-cls", "latest", SyncPhase.Downloading, 2, 3, "fetching", DateTimeOffset.UtcNow) { Progress = 0.5 });
        _kit.Sync.Reconciled("https://models.example/edgeml", null, DateTimeOffset.UtcNow);
        var downloading = _kit.Collector.Collect();

        _kit.Sync.Set(new ModelSyncState("ocr-det", "3", SyncPhase.Refused, null, 3, "v3 refused: goldenCheck", DateTimeOffset.UtcNow));
        var refused = _kit.Collector.Collect();

        var sync = Assert.Single(downloading.Sync.Models);
        Assert.Equal(new ModelSyncHealth("ocr-cls", "latest", "downloading", 2, 3, 0.5, "fetching"), sync);
        Assert.Equal("https://models.example/edgeml", downloading.Sync.Registry);
        Assert.NotNull(downloading.Sync.LastReconcileAt);
        Assert.Equal(HealthStatus.Unhealthy, refused.Status);
    }

    [Fact]
    public void Collect_Disk_ReportsTheDataFolderDisk()
    {
        var disk = _kit.Collector.Collect().Disk;

        Assert.Equal(Path.GetFullPath(_kit.DataDirectory), disk.Path);
        Assert.True(disk.TotalBytes > 0 && disk.FreeBytes > 0 && disk.FreeBytes <= disk.TotalBytes, $"{disk.FreeBytes} of {disk.TotalBytes}");
    }

    [Fact]
    public void Collect_Accelerators_IsTheSelfCheckOfThisBuildAndMachine()
    {
        var accelerators = _kit.Collector.Collect().Accelerators;
        var check = AcceleratorCheck.Run();

        Assert.Equal(("1.32.0", OnnxRuntimeBuild.Flavour, OnnxRuntimeBuild.NativeLibraryPath), (accelerators.OnnxRuntime.Version, accelerators.OnnxRuntime.Flavour, accelerators.OnnxRuntime.Library));
        Assert.Equal(check.Providers, accelerators.OnnxRuntime.Providers);
        Assert.Equal(check.Libraries.Select(l => (l.Name, l.Found, l.Detail)), accelerators.Libraries.Select(l => (l.Name, l.Found, l.Detail)));
        Assert.Equal(check.Cuda.Devices.Count, accelerators.Cuda.Devices.Count);
        if (!check.Cuda.Loaded)
        {
            // No NVIDIA driver here: a fact with the loader's words, and the agent is not unhealthy for it.
            Assert.Equal($"the CUDA driver does not load: {check.Cuda.LoadError}", accelerators.Cuda.Error);
            Assert.Equal(HealthStatus.Healthy, _kit.Collector.Collect().Status);
        }
    }

    [Fact]
    public async Task SelfCheck_AtStart_LogsTheBuildTheGpuAndTheLibraries()
    {
        var logger = new ListLogger<AcceleratorSelfCheck>();
        var check = new AcceleratorSelfCheck(logger);

        await check.StartAsync(CancellationToken.None);

        Assert.Contains(logger.Entries.Select(e => e.Message), m => m.StartsWith($"ONNX Runtime 1.32.0 ({OnnxRuntimeBuild.Flavour} flavour), providers in this build: ", StringComparison.Ordinal));
        Assert.Contains(logger.Entries.Select(e => e.Message), m => m.StartsWith(check.Health.Cuda.Devices.Count > 0 ? "CUDA driver " : "No GPU for inference: ", StringComparison.Ordinal));
        Assert.Contains(logger.Entries.Select(e => e.Message), m => m.StartsWith("Accelerator libraries found: ", StringComparison.Ordinal) && m.Contains("libcuda.so.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BatchingAuto_ModelSaysWhatItServesWithAndWhy()
    {
        var serving = new ServingOptions { Batching = new BatchingOptions { Auto = true } };
        Assert.True((await _kit.ActivateClassifierAsync(serving: serving)).Succeeded);

        using var json = JsonDocument.Parse(HealthJson.Serialize(_kit.Collector.Collect()));

        var batching = json.RootElement.GetProperty("models")[0].GetProperty("batching");
        Assert.Equal(["mode", "reason", "unbatchedRate", "batchedRate"], Names(batching));
        Assert.Equal("unbatched", batching.GetProperty("mode").GetString());
        Assert.Equal("unbatched until both ways are measured on live traffic", batching.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, batching.GetProperty("batchedRate").ValueKind);
    }

    [Fact]
    public async Task Serialize_Document_UsesTheContractNames()
    {
        await File.WriteAllTextAsync(Path.Combine(_kit.DataDirectory, "broken.onnx"), "not a model");
        Assert.True((await _kit.ActivateClassifierAsync(ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"))).Succeeded);
        await _kit.ActivateClassifierAsync(modelPath: Path.Combine(_kit.DataDirectory, "broken.onnx"), version: 2);
        _kit.Sync.Set(new ModelSyncState("ocr-cls", "2", SyncPhase.Refused, 1, 2, "refused", DateTimeOffset.UtcNow));

        using var json = JsonDocument.Parse(HealthJson.Serialize(_kit.Collector.Collect()));

        var root = json.RootElement;
        Assert.Equal(["deviceId", "status", "ready", "desired", "startedAt", "at", "version", "models", "sync", "hub", "broker", "disk", "capture", "accelerators", "proving"], Names(root));
        Assert.Equal(["ready", "reason"], Names(root.GetProperty("ready")));
        var model = root.GetProperty("models")[0];
        Assert.Equal(["name", "state", "version", "provider", "requestedProviders", "chain", "degraded", "degradedReason", "building", "batching", "latencyMs", "requests", "errors", "lastFailure", "drift"], Names(model));
        Assert.Equal(["provider", "state", "reason"], Names(model.GetProperty("chain")[0]));
        Assert.Equal(OnnxRuntimeBuild.Flavour == "gpu" ? "librariesMissing" : "notInBuild", model.GetProperty("chain")[0].GetProperty("state").GetString());
        Assert.Equal("inUse", model.GetProperty("chain")[1].GetProperty("state").GetString());
        var accelerators = root.GetProperty("accelerators");
        Assert.Equal(["onnxRuntime", "libraries", "cuda", "tensorRtVersion"], Names(accelerators));
        Assert.Equal(["version", "flavour", "providers", "library"], Names(accelerators.GetProperty("onnxRuntime")));
        Assert.Equal(["name", "found", "detail"], Names(accelerators.GetProperty("libraries")[0]));
        Assert.Equal(["driverVersion", "error", "devices"], Names(accelerators.GetProperty("cuda")));
        Assert.Equal(["p50", "p99"], Names(model.GetProperty("latencyMs")));
        Assert.Equal(["version", "stage", "reason", "at"], Names(model.GetProperty("lastFailure")));
        Assert.Equal("session", model.GetProperty("lastFailure").GetProperty("stage").GetString());
        Assert.Equal("ready", model.GetProperty("state").GetString());
        Assert.Equal("degraded", root.GetProperty("status").GetString());
        Assert.Equal(["registry", "registryError", "lastReconcileAt", "models"], Names(root.GetProperty("sync")));
        Assert.Equal(["name", "desired", "phase", "activeVersion", "targetVersion", "progress", "message"], Names(root.GetProperty("sync").GetProperty("models")[0]));
        Assert.Equal("refused", root.GetProperty("sync").GetProperty("models")[0].GetProperty("phase").GetString());
        Assert.Equal(["configured", "connected", "error", "droppedMessages"], Names(root.GetProperty("hub")));
        Assert.Equal(["configured", "connected", "broker", "error", "droppedEvents"], Names(root.GetProperty("broker")));
        Assert.Equal(["path", "freeBytes", "totalBytes"], Names(root.GetProperty("disk")));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("capture").ValueKind);
    }

    private static string[] Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();
}
