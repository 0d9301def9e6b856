using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests.Providers;

public sealed class TensorRtCacheTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"edgeml-trt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Resolve_CacheRoot_GivesEngineAndTimingFoldersKeyedByModelTensorRtAndGpu()
    {
        var chain = Chain(new ExecutionProviderOptions { Name = "tensorrt", CacheRoot = _root, Fp16 = true }, new ExecutionProviderOptions { Name = "cuda" });

        var resolved = TensorRtCache.Resolve(chain, ModelFixtures.Classifier, new FakeGpu("8602", "Orin sm87"));

        var trt = resolved.Providers[0];
        var folder = Path.GetDirectoryName(trt.EngineCachePath)!;
        Assert.Equal(_root, Path.GetDirectoryName(folder));
        Assert.Matches("^[0-9a-f]{16}-trt8602-orin-sm87$", Path.GetFileName(folder));
        Assert.Equal(Path.Combine(folder, "engines"), trt.EngineCachePath);
        Assert.Equal(Path.Combine(folder, "timing"), trt.TimingCachePath);
        Assert.True(Directory.Exists(trt.EngineCachePath) && Directory.Exists(trt.TimingCachePath));
        Assert.True(trt.Fp16);
        Assert.Null(resolved.Providers[1].EngineCachePath);
        Assert.Null(chain.Providers[0].EngineCachePath);
    }

    [Fact]
    public void Resolve_AnotherGpuTensorRtOrModel_AnotherFolder()
    {
        var chain = Chain(new ExecutionProviderOptions { Name = "tensorrt", CacheRoot = _root });
        string Folder(string model, string? trt, string? gpu) => Path.GetDirectoryName(TensorRtCache.Resolve(chain, model, new FakeGpu(trt, gpu)).Providers[0].EngineCachePath)!;

        var baseline = Folder(ModelFixtures.Classifier, "8602", "Orin sm87");

        Assert.Equal(baseline, Folder(ModelFixtures.Classifier, "8602", "Orin sm87"));
        Assert.NotEqual(baseline, Folder(ModelFixtures.Classifier, "100300", "Orin sm87"));
        Assert.NotEqual(baseline, Folder(ModelFixtures.Classifier, "8602", "NVIDIA GeForce RTX 3060 sm86"));
        Assert.NotEqual(baseline, Folder(ModelFixtures.Detector, "8602", "Orin sm87"));
        Assert.EndsWith("-trtunknown-nogpu", Folder(ModelFixtures.Classifier, null, null), StringComparison.Ordinal);
        Assert.Equal(5, Directory.GetDirectories(_root).Length);
    }

    [Fact]
    public void Resolve_ExplicitPathsOrNoRoot_LeftAsConfigured()
    {
        var explicitPaths = Chain(new ExecutionProviderOptions { Name = "tensorrt", CacheRoot = _root, EngineCachePath = "/data/engines", TimingCachePath = "/data/timing" });
        var noRoot = Chain(new ExecutionProviderOptions { Name = "tensorrt" }, new ExecutionProviderOptions { Name = "cuda", CacheRoot = _root });

        Assert.Same(explicitPaths, TensorRtCache.Resolve(explicitPaths, ModelFixtures.Classifier, new FakeGpu("8602", "Orin sm87")));
        Assert.Same(noRoot, TensorRtCache.Resolve(noRoot, ModelFixtures.Classifier, new FakeGpu("8602", "Orin sm87")));
        Assert.False(Directory.Exists(_root));
    }

    [Fact]
    public async Task Load_TensorRtWithCacheRoot_PassesTheKeyedFoldersToOnnxRuntimeInChainOrder()
    {
        var appender = new RecordingAppender();
        var loader = new ModelLoader(new ProviderChain(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], appender, FakeProbe.AllPresent), OnnxSessionFactory.Instance, NullLogger<ModelLoader>.Instance, new FakeGpu("8602", "Orin sm87"));
        var definition = Classifier.Definition(providers: Chain(
            new ExecutionProviderOptions { Name = "tensorrt", CacheRoot = _root, Int8 = true, MaxWorkspaceBytes = 2L << 30, Settings = { ["trt_int8_calibration_table_name"] = "calib.flatbuffers" } },
            new ExecutionProviderOptions { Name = "cuda", DeviceId = 0 },
            new ExecutionProviderOptions { Name = "cpu" }));

        using var loaded = await loader.LoadAsync(definition);

        Assert.Equal(["tensorrt", "cuda", "cpu"], appender.Appended.Select(a => a.Provider));
        var trt = appender.Appended[0].Settings;
        Assert.Equal("1", trt["trt_engine_cache_enable"]);
        Assert.Equal("1", trt["trt_timing_cache_enable"]);
        Assert.Equal("1", trt["trt_int8_enable"]);
        Assert.Equal("0", trt["trt_fp16_enable"]);
        Assert.Equal("2147483648", trt["trt_max_workspace_size"]);
        Assert.Equal("calib.flatbuffers", trt["trt_int8_calibration_table_name"]);
        Assert.StartsWith(Path.Combine(_root, ""), trt["trt_engine_cache_path"], StringComparison.Ordinal);
        Assert.EndsWith("-trt8602-orin-sm87/engines", trt["trt_engine_cache_path"], StringComparison.Ordinal);
        Assert.EndsWith("-trt8602-orin-sm87/timing", trt["trt_timing_cache_path"], StringComparison.Ordinal);
    }

    [Fact]
    public void NativeGpuInfo_OnThisMachine_AnswersWithoutThrowing()
    {
        var gpu = new NativeGpuInfo();

        // No TensorRT or CUDA here: both say so with null rather than failing the load.
        Assert.Equal(File.Exists("/usr/lib/x86_64-linux-gnu/libcuda.so.1") || File.Exists("/usr/lib/aarch64-linux-gnu/libcuda.so.1"), gpu.Device(0) is not null);
        _ = gpu.TensorRtVersion;
    }

    private static ProviderChainOptions Chain(params ExecutionProviderOptions[] providers) => new() { Providers = providers };

    private sealed record FakeGpu(string? TensorRtVersion, string? Name) : IGpuInfo
    {
        public string? Device(int deviceId) => Name;
    }

    /// <summary>Records what would be enabled, and enables nothing (there is no GPU here): the session runs on the CPU.</summary>
    private sealed class RecordingAppender : IProviderAppender
    {
        public List<(string Provider, Dictionary<string, string> Settings)> Appended { get; } = [];

        public void Append(SessionOptions options, string provider, Dictionary<string, string> settings) => Appended.Add((provider, settings));
    }
}
