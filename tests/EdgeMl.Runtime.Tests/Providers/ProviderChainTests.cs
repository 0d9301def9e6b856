using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests.Providers;

public sealed class ProviderChainTests
{
    private static readonly string[] GpuBuild = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"];

    [Fact]
    public void Apply_AllAvailable_AppendsInChainOrderWithTheirSettings()
    {
        var appender = new RecordingAppender();
        var chain = new ProviderChain(GpuBuild, appender);
        using var options = new SessionOptions();

        var report = chain.Apply(options, new ProviderChainOptions
        {
            Providers =
            [
                new ExecutionProviderOptions { Name = "tensorrt", DeviceId = 1, Fp16 = true, EngineCachePath = "/data/trt", MaxWorkspaceBytes = 1 << 30 },
                new ExecutionProviderOptions { Name = "cuda", DeviceId = 1 },
                new ExecutionProviderOptions { Name = "cpu" },
            ],
        });

        Assert.Equal(["tensorrt", "cuda", "cpu"], appender.Appended.Select(a => a.Provider));
        Assert.Equal(["tensorrt", "cuda", "cpu"], report.Applied);
        Assert.False(report.IsDegraded);
        var trt = appender.Appended[0].Settings;
        Assert.Equal("1", trt["device_id"]);
        Assert.Equal("1", trt["trt_fp16_enable"]);
        Assert.Equal("1", trt["trt_engine_cache_enable"]);
        Assert.Equal("/data/trt", trt["trt_engine_cache_path"]);
        Assert.Equal("1073741824", trt["trt_max_workspace_size"]);
    }

    [Fact]
    public void Apply_FirstMissingUnderPrefer_FallsBackAndReportsDegradedWithReason()
    {
        var appender = new RecordingAppender();
        var chain = new ProviderChain(["CPUExecutionProvider"], appender);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));

        Assert.Equal(["cpu"], appender.Appended.Select(a => a.Provider));
        Assert.Equal("cpu", report.Effective);
        Assert.True(report.IsDegraded);
        Assert.Equal(
            "cuda unavailable (CUDAExecutionProvider is not in this ONNX Runtime build (available: CPUExecutionProvider)); running on cpu",
            report.DegradedReason);
    }

    [Fact]
    public void Apply_FirstMissingUnderRequire_Throws()
    {
        var chain = new ProviderChain(["CPUExecutionProvider"], new RecordingAppender());
        using var options = new SessionOptions();

        var e = Assert.Throws<ProviderUnavailableException>(() => chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Require, "tensorrt", "cpu")));

        Assert.StartsWith("provider 'tensorrt' is required but unavailable: TensorrtExecutionProvider is not in this ONNX Runtime build", e.Message);
    }

    [Fact]
    public void Apply_AppendFailsAtRunTime_SkipsWithOnnxRuntimesReason()
    {
        var appender = new RecordingAppender { Failing = "cuda" };
        var chain = new ProviderChain(GpuBuild, appender);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));

        Assert.Equal("cpu", report.Effective);
        var skip = Assert.Single(report.Skipped);
        Assert.Equal("cuda", skip.Provider);
        Assert.Contains("libcudart.so.12: cannot open shared object file", skip.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_UnknownProvider_IsSkippedWithTheKnownNames()
    {
        var chain = new ProviderChain(GpuBuild, new RecordingAppender());
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "tpu", "cpu"));

        Assert.Equal("unknown provider; known: cpu, cuda, tensorrt, openvino, vitisai", Assert.Single(report.Skipped).Reason);
    }

    [Fact]
    public void Settings_OpenVinoAndVitisAi_UseTheirNativeKeysAndPassExtrasThrough()
    {
        var openVino = ProviderSettings.For(new ExecutionProviderOptions { Name = "openvino", DeviceType = "GPU", Settings = { ["num_of_threads"] = "2" } });
        var vitis = ProviderSettings.For(new ExecutionProviderOptions { Name = "vitisai", ConfigFile = "/opt/xilinx/vaip_config.json" });

        Assert.Equal(new Dictionary<string, string> { ["device_type"] = "GPU", ["num_of_threads"] = "2" }, openVino);
        Assert.Equal(new Dictionary<string, string> { ["config_file"] = "/opt/xilinx/vaip_config.json" }, vitis);
    }

    [Fact]
    public async Task Load_CudaPreferredOnCpuBuild_ServesOnCpuAndReportsDegraded()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu")));

        Assert.True(result.Succeeded, result.Failure?.Reason);
        Assert.Equal("cpu", result.Providers!.Effective);
        Assert.True(result.Providers.IsDegraded);
        Assert.Contains("CUDAExecutionProvider is not in this ONNX Runtime build", result.Providers.DegradedReason, StringComparison.Ordinal);
        Assert.True((await engine.InferAsync(Classifier.Name, Classifier.Request(1))).IsSuccess);
    }

    [Fact]
    public async Task Load_TensorRtRequiredOnCpuBuild_IsRefusedAtProvidersStage()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Require, "tensorrt", "cuda", "cpu")));

        Assert.False(result.Succeeded);
        Assert.Equal(ModelLoadStage.Providers, result.Failure!.Stage);
        Assert.Contains("provider 'tensorrt' is required but unavailable", result.Failure.Reason, StringComparison.Ordinal);
        Assert.Equal(ModelState.Failed, engine.GetStatus(Classifier.Name)!.State);
    }

    [Fact]
    public async Task Load_Profiled_ReportsNodesRunByEachProvider()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition());

        var nodes = result.Providers!.NodesByProvider;
        Assert.True(nodes.TryGetValue("cpu", out var cpuNodes) && cpuNodes > 10, $"nodes by provider: {string.Join(", ", nodes)}");
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "edgeml-profile-*"));
    }

    private sealed class RecordingAppender : IProviderAppender
    {
        public List<(string Provider, Dictionary<string, string> Settings)> Appended { get; } = [];

        public string? Failing { get; init; }

        public void Append(SessionOptions options, string provider, Dictionary<string, string> settings)
        {
            if (provider == Failing)
            {
                throw new DllNotFoundException("libcudart.so.12: cannot open shared object file");
            }

            Appended.Add((provider, settings));
        }
    }
}
