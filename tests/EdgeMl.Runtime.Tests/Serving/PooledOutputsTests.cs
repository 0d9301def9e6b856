using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Runtime.Tests.Serving;

/// <summary>
/// Large outputs lie in pooled buffers that the result gives back on dispose (a detector's 1.6 MB answer per call
/// otherwise went to the large object heap); small ones are arrays of their own.
/// </summary>
public sealed class PooledOutputsTests : IDisposable
{
    private const int Large = ModelSession.PooledOutputBytes / sizeof(float) + 1;
    private readonly TestPackages.TempFolder _temp = new();
    private readonly InferenceEngine _engine = new(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);

    public void Dispose()
    {
        _engine.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task LargeOutput_IsPooled_AndUnreadableOnceTheResultIsDisposed()
    {
        await Activate("echo", Large);
        var input = Input(Large, seed: 3);

        var result = await _engine.InferAsync("echo", new InferenceRequest([InferenceTensor.Create("x", [1, Large], input)]));
        var output = result.Output("y");
        var kept = output.Detach();

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.True(output.IsPooled);
        Assert.Equal(input, output.Span<float>().ToArray());
        Assert.False(kept.IsPooled);
        result.Dispose();
        result.Dispose();
        Assert.False(output.IsPooled);
        var error = Assert.Throws<ObjectDisposedException>(() => output.Data);
        Assert.Contains("output 'y' was read after its result was disposed", error.Message, StringComparison.Ordinal);
        Assert.Equal(input, kept.Span<float>().ToArray());
    }

    [Fact]
    public async Task LargeOutput_RenamedBeforeDispose_KeepsItsValues()
    {
        await Activate("echo", Large);
        var input = Input(Large, seed: 4);
        var result = await _engine.InferAsync("echo", new InferenceRequest([InferenceTensor.Create("x", [1, Large], input)]));

        var renamed = result.Output("y").WithName("state");
        result.Dispose();

        Assert.Equal("state", renamed.Name);
        Assert.Equal(input, renamed.Span<float>().ToArray());
    }

    [Fact]
    public async Task SmallOutput_IsAnArrayOfItsOwn_ReadableAfterDispose()
    {
        await Activate("small", 16);
        var input = Input(16, seed: 5);
        var result = await _engine.InferAsync("small", new InferenceRequest([InferenceTensor.Create("x", [1, 16], input)]));

        result.Dispose();

        Assert.False(result.Output("y").IsPooled);
        Assert.Equal(input, result.Output("y").Span<float>().ToArray());
    }

    [Fact]
    public async Task ManyConcurrentCallers_EachGetTheirOwnAnswer_WhileOthersGiveBuffersBack()
    {
        await Activate("echo", Large, maxConcurrency: 4);

        async Task Caller(int seed)
        {
            for (var i = 0; i < 10; i++)
            {
                var input = Input(Large, seed * 100 + i);
                using var result = await _engine.InferAsync("echo", new InferenceRequest([InferenceTensor.Create("x", [1, Large], input)]));
                await Task.Yield();
                Assert.Equal(input, result.Output("y").Span<float>().ToArray());
            }
        }

        await Task.WhenAll(Enumerable.Range(1, 8).Select(s => Task.Run(() => Caller(s))));
    }

    [Fact]
    public async Task BatchedCallers_ShareOneRun_SoTheirOutputsAreNotPooled()
    {
        await Activate("echo", Large, maxConcurrency: 1, batch: 4);
        var inputs = Enumerable.Range(0, 4).Select(i => Input(Large, 40 + i)).ToArray();

        var results = await Task.WhenAll(inputs.Select(i => _engine.InferAsync("echo", new InferenceRequest([InferenceTensor.Create("x", [1, Large], i)])).AsTask()));
        foreach (var r in results)
        {
            r.Dispose();
        }

        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i], results[i].Output("y").Span<float>().ToArray());
        }
    }

    private static float[] Input(int width, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, width).Select(_ => (float)random.NextDouble())];
    }

    private async Task Activate(string name, int width, int maxConcurrency = 2, int batch = 0)
    {
        var path = _temp.Sub($"{name}.onnx");
        await File.WriteAllBytesAsync(path, OnnxGraphs.Echo(width));
        var activation = await _engine.ActivateAsync(new ModelDefinition
        {
            Name = name,
            Version = 1,
            ModelPath = path,
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = [1, width] } },
            Serving = new ServingOptions
            {
                MaxConcurrency = maxConcurrency,
                MaxQueue = 64,
                Batching = new BatchingOptions { Enabled = batch > 0, MaxBatchSize = Math.Max(batch, 1), MaxDelay = TimeSpan.FromSeconds(1) },
            },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }
}
