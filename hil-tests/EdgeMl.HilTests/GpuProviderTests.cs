using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Xunit.Abstractions;

namespace EdgeMl.HilTests;

/// <summary>The fixture classifier on CUDA and TensorRT, checked against the CPU, and TensorRT's engine cache across starts.</summary>
[Trait("Category", "Hardware")]
public sealed class GpuProviderTests(ITestOutputHelper output) : IDisposable
{
    private const string Output = ModelFixtures.ClassifierOutput;
    private readonly string _cacheRoot = Path.Combine(Path.GetTempPath(), $"edgeml-hil-trt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_cacheRoot))
        {
            Directory.Delete(_cacheRoot, recursive: true);
        }
    }

    [CudaFact]
    public async Task Cuda_Classifier_MatchesTheCpuWithinTolerance()
    {
        var cpu = await RunAsync(ProviderChainOptions.CpuOnly);
        var cuda = await RunAsync(Require(new ExecutionProviderOptions { Name = ProviderNames.Cuda }));

        AssertClose(cpu, cuda, 1e-3f);
    }

    [TensorRtFact]
    public async Task TensorRt_Classifier_MatchesTheCpuWithinTolerance()
    {
        var cpu = await RunAsync(ProviderChainOptions.CpuOnly);
        var trt = await RunAsync(Require(new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot }));
        var fp16 = await RunAsync(Require(new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot, Fp16 = true }));

        AssertClose(cpu, trt, 1e-3f);
        AssertClose(cpu, fp16, 2e-2f);
    }

    [TensorRtFact]
    public async Task TensorRt_SecondStart_ReusesTheEngineCache()
    {
        var chain = Require(new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot });

        var first = await LoadAsync(chain);
        var afterFirst = CacheFiles();
        var second = await LoadAsync(chain);
        var afterSecond = CacheFiles();

        output.WriteLine($"first load {first.TotalMilliseconds:F0} ms, second load {second.TotalMilliseconds:F0} ms; cache: {string.Join(", ", afterFirst.Keys)}");
        Assert.Contains(afterFirst.Keys, f => f.Contains("/engines/", StringComparison.Ordinal) && f.EndsWith(".engine", StringComparison.Ordinal));
        Assert.Equal(afterFirst, afterSecond); // the same files, none rewritten: the engine was loaded, not rebuilt
    }

    private Dictionary<string, DateTime> CacheFiles() =>
        Directory.GetFiles(_cacheRoot, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

    private static ProviderChainOptions Require(ExecutionProviderOptions provider) =>
        new() { Policy = ProviderPolicy.Require, ServeWhileBuilding = false, Providers = [provider, new ExecutionProviderOptions { Name = ProviderNames.Cpu }] };

    private static ModelDefinition Definition(ProviderChainOptions chain) => new()
    {
        Name = "ocr-cls",
        Version = 1,
        ModelPath = ModelFixtures.Classifier,
        Providers = chain,
        WarmUp = new WarmUpOptions { Runs = 1, Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
    };

    private static async Task<TimeSpan> LoadAsync(ProviderChainOptions chain)
    {
        using var loaded = await new ModelLoader().LoadAsync(Definition(chain));
        Assert.Equal(chain.Providers[0].Name, loaded.Providers.Effective);
        return loaded.LoadTime;
    }

    private static async Task<float[][]> RunAsync(ProviderChainOptions chain)
    {
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
        var activation = await engine.ActivateAsync(Definition(chain));
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        Assert.Equal(chain.Providers[0].Name, activation.Providers!.Effective);
        var results = new List<float[]>();
        for (var seed = 0; seed < 8; seed++)
        {
            var request = new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed))]);
            var result = await engine.InferAsync("ocr-cls", request);
            Assert.True(result.IsSuccess, result.Error?.Message);
            results.Add(result.Output(Output).Span<float>().ToArray());
        }

        return [.. results];
    }

    private static void AssertClose(float[][] expected, float[][] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            for (var j = 0; j < expected[i].Length; j++)
            {
                Assert.True(Math.Abs(expected[i][j] - actual[i][j]) <= tolerance, $"sample {i} score {j}: cpu {expected[i][j]}, provider {actual[i][j]} (tolerance {tolerance})");
            }
        }
    }
}
