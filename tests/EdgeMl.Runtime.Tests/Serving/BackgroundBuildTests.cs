using System.Collections.Concurrent;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tests.Providers;
using EdgeMl.Testing;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests.Serving;

/// <summary>
/// A TensorRT engine build, played by a session factory that blocks until released: the model serves on the
/// next provider meanwhile and swaps to TensorRT when the build is done, with no failed request.
/// </summary>
public sealed class BackgroundBuildTests : IDisposable
{
    private readonly GatedFactory _factory = new();
    private readonly InferenceEngine _engine;

    public BackgroundBuildTests()
    {
        // This build has no TensorRT: the chain is told it has, and the appender leaves the options alone,
        // so every session really runs on the CPU while the reports name the provider the chain chose.
        var chain = new ProviderChain(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], new PretendAppender(), FakeProbe.AllPresent);
        _engine = new InferenceEngine(new ModelLoader(chain, _factory), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
    }

    [Fact]
    public async Task Activate_TensorRtFirst_ServesOnCudaWhileBuildingThenSwapsWithNoFailedRequest()
    {
        var activation = await _engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "tensorrt", "cuda", "cpu")));

        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        Assert.Equal("cuda", activation.Providers!.Effective);
        Assert.Equal("tensorrt unavailable (its engine is building in the background); running on cuda", activation.Providers.DegradedReason);
        Assert.Equal("tensorrt", _engine.GetStatus(Classifier.Name)!.Building);

        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await _engine.InferAsync(Classifier.Name, Classifier.Request(c));
                if (!result.IsSuccess)
                {
                    failures.Enqueue(result.Error!.ToString());
                }
            }
        })).ToArray();

        _factory.Release();
        await _engine.BackgroundBuildOf(Classifier.Name);
        await stop.CancelAsync();
        await Task.WhenAll(callers);

        var status = _engine.GetStatus(Classifier.Name)!;
        Assert.Equal("tensorrt", status.Providers!.Effective);
        Assert.False(status.Providers.IsDegraded);
        Assert.Null(status.Building);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Activate_NewVersionWhileBuilding_CancelsTheBuildAndKeepsTheNewVersion()
    {
        await _engine.ActivateAsync(Classifier.Definition(version: 1, providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "tensorrt", "cpu")));

        var second = await _engine.ActivateAsync(Classifier.Definition(version: 2, providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "cpu")));
        var build = _engine.BackgroundBuildOf(Classifier.Name);
        _factory.Release();
        await build;

        Assert.True(second.Succeeded);
        var status = _engine.GetStatus(Classifier.Name)!;
        Assert.Equal((2L, "cpu"), (status.Version!.Value, status.Providers!.Effective));
        Assert.Null(status.Building);
    }

    [Fact]
    public async Task Activate_BuildFails_InterimKeepsServingAndSaysWhy()
    {
        _factory.FailTensorRt = true;
        await _engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "tensorrt", "cuda")));

        _factory.Release();
        await _engine.BackgroundBuildOf(Classifier.Name);

        var status = _engine.GetStatus(Classifier.Name)!;
        Assert.Equal("cuda", status.Providers!.Effective);
        Assert.StartsWith("tensorrt unavailable (its engine failed to build: ", status.Providers.DegradedReason, StringComparison.Ordinal);
        Assert.Null(status.Building);
        Assert.True((await _engine.InferAsync(Classifier.Name, Classifier.Request(1))).IsSuccess);
    }

    [Theory]
    [InlineData(ProviderState.LibrariesMissing, "libnvinfer.so.10 (libnvinfer.so.10: cannot open shared object file: No such file or directory)")]
    [InlineData(ProviderState.NoDevice, "the CUDA driver sees no device: cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected")]
    public async Task Activate_TensorRtCannotStart_MovesOnWithTheReasonAndBuildsNothing(ProviderState state, string why)
    {
        var probe = new FakeProbe();
        (state == ProviderState.LibrariesMissing ? probe.Libraries : probe.Devices)["tensorrt"] = why;
        var chain = new ProviderChain(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], new PretendAppender(), probe);
        using var engine = new InferenceEngine(new ModelLoader(chain, _factory), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);

        var activation = await engine.ActivateAsync(Classifier.Definition(providers: ProviderChainOptions.Of(ProviderPolicy.Prefer, "tensorrt", "cuda", "cpu")));

        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        var status = engine.GetStatus(Classifier.Name)!;
        Assert.Null(status.Building);
        Assert.Equal("cuda", status.Providers!.Effective);
        var trt = status.Providers.Chain[0];
        Assert.Equal("tensorrt", trt.Provider);
        Assert.Equal(state, trt.State);
        Assert.Contains(why, trt.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("building", status.Providers.DegradedReason, StringComparison.Ordinal);
        Assert.Equal([ProviderState.InUse, ProviderState.InUse], status.Providers.Chain.Skip(1).Select(c => c.State));
    }

    public void Dispose()
    {
        _factory.Release();
        _engine.Dispose();
        _factory.Dispose();
    }

    private sealed class PretendAppender : IProviderAppender
    {
        public void Append(SessionOptions options, string provider, Dictionary<string, string> settings)
        {
        }
    }

    private sealed class GatedFactory : ISessionFactory, IDisposable
    {
        private readonly ManualResetEventSlim _gate = new();

        public bool FailTensorRt { get; set; }

        public void Release() => _gate.Set();

        public InferenceSession Create(string modelPath, SessionOptions options, ProviderReport providers)
        {
            if (providers.Effective == ProviderNames.TensorRt)
            {
                // As long as an engine build takes: until the test says it is done.
                _gate.Wait(TimeSpan.FromMinutes(2));
                if (FailTensorRt)
                {
                    // A real ONNX Runtime failure at session creation, as a failed engine build gives.
                    return new InferenceSession(modelPath + ".engine-build-failed", options);
                }
            }

            return new InferenceSession(modelPath, options);
        }

        public void Dispose() => _gate.Dispose();
    }
}
