using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests.Providers;

public sealed class ProviderChainTests
{
    private static readonly string[] GpuBuild = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"];

    [Fact]
    public void Apply_AllAvailable_AppendsInChainOrderWithTheirSettings()
    {
        var appender = new RecordingAppender();
        var chain = new ProviderChain(GpuBuild, appender, FakeProbe.AllPresent);
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
        Assert.All(report.Chain, c => Assert.Equal(ProviderState.InUse, c.State));
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
        var chain = new ProviderChain(["CPUExecutionProvider"], appender, FakeProbe.AllPresent);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));

        Assert.Equal(["cpu"], appender.Appended.Select(a => a.Provider));
        Assert.Equal("cpu", report.Effective);
        Assert.True(report.IsDegraded);
        Assert.Equal(
            "cuda unavailable (CUDAExecutionProvider is not in this ONNX Runtime build (available: CPUExecutionProvider)); running on cpu",
            report.DegradedReason);
        Assert.Equal([new ProviderOutcome("cuda", ProviderState.NotInBuild, "CUDAExecutionProvider is not in this ONNX Runtime build (available: CPUExecutionProvider)"), new ProviderOutcome("cpu", ProviderState.InUse, null)], report.Chain);
    }

    [Fact]
    public void Apply_FirstMissingUnderRequire_Throws()
    {
        var chain = new ProviderChain(["CPUExecutionProvider"], new RecordingAppender(), FakeProbe.AllPresent);
        using var options = new SessionOptions();

        var e = Assert.Throws<ProviderUnavailableException>(() => chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Require, "tensorrt", "cpu")));

        Assert.StartsWith("provider 'tensorrt' is required but unavailable: TensorrtExecutionProvider is not in this ONNX Runtime build", e.Message);
    }

    [Fact]
    public void Apply_LibrariesMissing_SkipsWithoutAskingOnnxRuntimeAndNamesThem()
    {
        var appender = new RecordingAppender();
        var probe = new FakeProbe { Libraries = { ["cuda"] = "libcublasLt.so.13, libcudart.so.13 (libcublasLt.so.13: cannot open shared object file: No such file or directory)" } };
        var chain = new ProviderChain(GpuBuild, appender, probe);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));

        Assert.Equal(["cpu"], appender.Appended.Select(a => a.Provider));
        var cuda = report.Chain[0];
        Assert.Equal(ProviderState.LibrariesMissing, cuda.State);
        Assert.Equal("in this ONNX Runtime build, but its libraries do not load: libcublasLt.so.13, libcudart.so.13 (libcublasLt.so.13: cannot open shared object file: No such file or directory)", cuda.Reason);
    }

    [Fact]
    public void Apply_NoDevice_SkipsWithTheDriversReason()
    {
        var probe = new FakeProbe { Devices = { ["cuda"] = "device 1 is not visible (1 device: 0 NVIDIA A2)" } };
        var chain = new ProviderChain(GpuBuild, new RecordingAppender(), probe);
        using var options = new SessionOptions();

        var e = Assert.Throws<ProviderUnavailableException>(() => chain.Apply(options, new ProviderChainOptions
        {
            Policy = ProviderPolicy.Require,
            Providers = [new ExecutionProviderOptions { Name = "cuda", DeviceId = 1 }],
        }));

        Assert.Equal("provider 'cuda' is required but unavailable: its libraries load, but no device is visible: device 1 is not visible (1 device: 0 NVIDIA A2)", e.Message);
    }

    [Fact]
    public void Apply_AppendFailsAtRunTime_SkipsAsInitFailedWithOnnxRuntimesReason()
    {
        var appender = new RecordingAppender { Failing = "cuda" };
        var chain = new ProviderChain(GpuBuild, appender, FakeProbe.AllPresent);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"));

        Assert.Equal("cpu", report.Effective);
        var skip = Assert.Single(report.Skipped);
        Assert.Equal(("cuda", ProviderState.InitFailed), (skip.Provider, skip.State));
        Assert.Contains("CUDA failure 999: unknown error", skip.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_SessionCreationFailedBefore_ReportsInitFailed()
    {
        var chain = new ProviderChain(GpuBuild, new RecordingAppender(), FakeProbe.AllPresent);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"), new Dictionary<string, string> { ["cuda"] = "CUDNN failure 4" });

        Assert.Equal(new ProviderOutcome("cuda", ProviderState.InitFailed, "session creation failed: CUDNN failure 4"), report.Chain[0]);
    }

    [Fact]
    public void Apply_Strict_AppendsOnlyTheFirstAndDisablesCpuFallback()
    {
        var appender = new RecordingAppender();
        var chain = new ProviderChain(GpuBuild, appender, FakeProbe.AllPresent);
        using var options = new SessionOptions();

        var report = chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Strict, "cuda", "cpu"));

        Assert.Equal(["cuda"], appender.Appended.Select(a => a.Provider));
        Assert.Equal(["cuda"], report.Applied);
        Assert.Equal(new ProviderOutcome("cpu", ProviderState.NotTried, "policy strict: every node must run on cuda"), report.Chain[1]);
        Assert.False(report.IsDegraded);
    }

    [Fact]
    public void Apply_StrictFirstUnavailable_Throws()
    {
        var probe = new FakeProbe { Libraries = { ["tensorrt"] = "libnvinfer.so.10 (libnvinfer.so.10: cannot open shared object file: No such file or directory)" } };
        var chain = new ProviderChain(GpuBuild, new RecordingAppender(), probe);
        using var options = new SessionOptions();

        var e = Assert.Throws<ProviderUnavailableException>(() => chain.Apply(options, ProviderChainOptions.Of(ProviderPolicy.Strict, "tensorrt", "cuda", "cpu")));

        Assert.StartsWith("provider 'tensorrt' is required (policy strict) but unavailable: in this ONNX Runtime build, but its libraries do not load: libnvinfer.so.10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_UnknownProvider_IsSkippedWithTheKnownNames()
    {
        var chain = new ProviderChain(GpuBuild, new RecordingAppender(), FakeProbe.AllPresent);
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

    /// <summary>
    /// The real build: on the cpu flavour CUDA is not in it; on the gpu flavour (CI builds and tests both) it is, and its
    /// CUDA 13 libraries are missing on a machine without them, which the reason names.
    /// </summary>
    [Fact]
    public async Task Load_CudaPreferredOnThisBuild_ServesOnCpuWithTheExactReason()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu")));

        Assert.True(result.Succeeded, result.Failure?.Reason);
        Assert.Equal("cpu", result.Providers!.Effective);
        Assert.True(result.Providers.IsDegraded);
        var cuda = result.Providers.Chain[0];
        AssertCannotStartHere(cuda);
        Assert.Contains(cuda.Reason!, result.Providers.DegradedReason, StringComparison.Ordinal);
        Assert.True((await engine.InferAsync(Classifier.Name, Classifier.Request(1))).IsSuccess);
    }

    [Fact]
    public async Task Load_TensorRtFirstOnThisBuild_NoEngineBuildingAndEachProviderSaysWhy()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "tensorrt", "cuda", "cpu")));

        Assert.True(result.Succeeded, result.Failure?.Reason);
        var status = engine.GetStatus(Classifier.Name)!;
        Assert.Null(status.Building);
        Assert.Equal("cpu", status.Providers!.Effective);
        AssertCannotStartHere(status.Providers.Chain[0]);
        AssertCannotStartHere(status.Providers.Chain[1]);
        Assert.Equal(new ProviderOutcome("cpu", ProviderState.InUse, null), status.Providers.Chain[2]);
        Assert.DoesNotContain("building", status.Providers.DegradedReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ProviderPolicy.Require)]
    [InlineData(ProviderPolicy.Strict)]
    public async Task Load_TensorRtRequiredOnThisBuild_IsRefusedAtProvidersStageWithTheReason(ProviderPolicy policy)
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(policy, "tensorrt", "cuda", "cpu")));

        Assert.False(result.Succeeded);
        Assert.Equal(ModelLoadStage.Providers, result.Failure!.Stage);
        Assert.Contains("provider 'tensorrt' is required", result.Failure.Reason, StringComparison.Ordinal);
        Assert.Contains(OnnxRuntimeBuild.Flavour == "gpu"
            ? "its libraries do not load: libcublas.so.13"
            : "TensorrtExecutionProvider is not in this ONNX Runtime build", result.Failure.Reason, StringComparison.Ordinal);
        Assert.Equal(ModelState.Failed, engine.GetStatus(Classifier.Name)!.State);
    }

    /// <summary>
    /// Strict with a first provider that takes no node (it appends nothing): real ONNX Runtime refuses the session
    /// because every node would fall to the CPU, and the refusal names them from a profiled run.
    /// </summary>
    [Fact]
    public async Task Load_StrictAndNodesWouldFallToCpu_IsRefusedNamingTheNodes()
    {
        var chain = new ProviderChain(GpuBuild, new RecordingAppender(), FakeProbe.AllPresent);
        var profiles = Directory.CreateTempSubdirectory("edgeml-profiles-");
        var loader = new ModelLoader(chain, OnnxSessionFactory.Instance) { ProfileFolder = profiles.FullName };
        using var engine = new InferenceEngine(loader, new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Strict, "cuda", "cpu")));

        Assert.False(result.Succeeded);
        Assert.Equal(ModelLoadStage.Providers, result.Failure!.Stage);
        Assert.Matches(@"^policy strict: \d+ nodes would fall to the CPU instead of running on cuda: \S+ \(Conv\), ", result.Failure.Reason);
        Assert.Empty(profiles.EnumerateFiles());
    }

    [Fact]
    public async Task Load_StrictOnCpu_RunsEveryNodeOnTheCpu()
    {
        using var engine = Classifier.Engine(out _);

        var result = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Strict, "cpu")));

        Assert.True(result.Succeeded, result.Failure?.Reason);
        Assert.Equal(["cpu"], result.Providers!.NodesByProvider.Keys);
    }

    [Fact]
    public async Task Load_Profiled_ReportsNodesRunByEachProvider()
    {
        var profiles = Directory.CreateTempSubdirectory("edgeml-profiles-");
        using var engine = new InferenceEngine(new ModelLoader { ProfileFolder = profiles.FullName }, new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);

        var result = await engine.ActivateAsync(Classifier.Definition());

        var nodes = result.Providers!.NodesByProvider;
        Assert.True(nodes.TryGetValue("cpu", out var cpuNodes) && cpuNodes > 10, $"nodes by provider: {string.Join(", ", nodes)}");
        Assert.Empty(profiles.EnumerateFiles());
    }

    /// <summary>What each flavour CI tests must say about a GPU provider on a machine without CUDA.</summary>
    internal static void AssertCannotStartHere(ProviderOutcome outcome)
    {
        var onnxName = ProviderNames.ToOnnxName(outcome.Provider);
        if (OnnxRuntimeBuild.Flavour == "gpu")
        {
            // The first library each provider's shared library needs from CUDA 13, as the loader names it.
            var first = outcome.Provider == ProviderNames.Cuda ? "libcublasLt.so.13" : "libcublas.so.13";
            Assert.Equal(ProviderState.LibrariesMissing, outcome.State);
            Assert.StartsWith($"in this ONNX Runtime build, but its libraries do not load: {first}, ", outcome.Reason, StringComparison.Ordinal);
            Assert.Contains($"({first}: cannot open shared object file: No such file or directory)", outcome.Reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(ProviderState.NotInBuild, outcome.State);
            Assert.StartsWith($"{onnxName} is not in this ONNX Runtime build", outcome.Reason, StringComparison.Ordinal);
        }
    }

    private sealed class RecordingAppender : IProviderAppender
    {
        public List<(string Provider, Dictionary<string, string> Settings)> Appended { get; } = [];

        public string? Failing { get; init; }

        public void Append(SessionOptions options, string provider, Dictionary<string, string> settings)
        {
            if (provider == Failing)
            {
                throw new DllNotFoundException("CUDA failure 999: unknown error");
            }

            if (provider == ProviderNames.Cpu)
            {
                options.AppendExecutionProvider_CPU(1);
            }

            Appended.Add((provider, settings));
        }
    }
}
