using System.Diagnostics;
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

        Result("classifier cuda vs cpu", $"max |diff| {MaxDiff(cpu, cuda):G3} (tolerance 1e-3) over 8 inputs");
        AssertClose(cpu, cuda, 1e-3f);
    }

    [TensorRtFact]
    public async Task TensorRt_Classifier_MatchesTheCpuWithinTolerance()
    {
        var cpu = await RunAsync(ProviderChainOptions.CpuOnly);
        var trt = await RunAsync(Require(new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot }));
        var fp16 = await RunAsync(Require(new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot, Fp16 = true }));

        Result("classifier tensorrt fp32 vs cpu", $"max |diff| {MaxDiff(cpu, trt):G3} (tolerance 1e-3)");
        Result("classifier tensorrt fp16 vs cpu", $"max |diff| {MaxDiff(cpu, fp16):G3} (tolerance 2e-2)");
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

        output.WriteLine($"cache: {string.Join(", ", afterFirst.Keys)}");
        Result("tensorrt engine cache across restarts", $"first load {first.TotalMilliseconds:F0} ms (engine built), second {second.TotalMilliseconds:F0} ms (engine reused, no cache file rewritten)");
        Assert.Contains(afterFirst.Keys, f => f.Contains("/engines/", StringComparison.Ordinal) && f.EndsWith(".engine", StringComparison.Ordinal));
        Assert.Equal(afterFirst, afterSecond); // the same files, none rewritten: the engine was loaded, not rebuilt
    }

    /// <summary>
    /// The detector under prefer tensorrt,cuda,cpu: it serves on CUDA at once while TensorRT builds its engine, then
    /// swaps to TensorRT, and no request in between fails.
    /// </summary>
    [TensorRtFact]
    public async Task Detector_ServeWhileTensorRtBuilds_ThenSwapsWithNoFailedRequest()
    {
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
        var started = Stopwatch.GetTimestamp();
        var activation = await engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-det",
            Version = 1,
            ModelPath = ModelFixtures.Detector,
            Providers = new ProviderChainOptions
            {
                Providers = [new ExecutionProviderOptions { Name = ProviderNames.TensorRt, CacheRoot = _cacheRoot }, new ExecutionProviderOptions { Name = ProviderNames.Cuda }, new ExecutionProviderOptions { Name = ProviderNames.Cpu }],
            },
            WarmUp = new WarmUpOptions { Runs = 1, Shapes = { ["x"] = ModelFixtures.DetectorShape } },
        });
        var serving = Stopwatch.GetElapsedTime(started);
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        Assert.Equal(ProviderNames.Cuda, activation.Providers!.Effective);
        Assert.Equal(ProviderNames.TensorRt, engine.GetStatus("ocr-det")!.Building);

        var request = new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.DetectorShape, ModelFixtures.SampleInput(ModelFixtures.DetectorShape, 1))]);
        var (requests, failures) = (0, 0);
        var build = engine.BackgroundBuildOf("ocr-det");
        while (!build.IsCompleted)
        {
            var result = await engine.InferAsync("ocr-det", request);
            requests++;
            failures += result.IsSuccess ? 0 : 1;
        }

        await build;
        var swapped = Stopwatch.GetElapsedTime(started);
        Result("detector serve-then-swap", $"serving on cuda after {serving.TotalSeconds:F1} s, on tensorrt after {swapped.TotalSeconds:F1} s; {requests} requests meanwhile, {failures} failed");
        Assert.Equal(ProviderNames.TensorRt, engine.GetStatus("ocr-det")!.Providers!.Effective);
        Assert.Equal(0, failures);
    }

    /// <summary>Strict on CUDA: either every node of the classifier runs on CUDA, or the load is refused naming the nodes that would not.</summary>
    [CudaFact]
    public async Task Strict_Cuda_RunsEveryNodeOnCudaOrNamesTheOnesThatWouldNot()
    {
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);

        var activation = await engine.ActivateAsync(Definition(ProviderChainOptions.Of(ProviderPolicy.Strict, ProviderNames.Cuda, ProviderNames.Cpu)));

        if (activation.Succeeded)
        {
            Result("classifier strict on cuda", $"loaded: {string.Join(", ", activation.Providers!.NodesByProvider.Select(p => $"{p.Value} nodes on {p.Key}"))}");
            Assert.Equal([ProviderNames.Cuda], activation.Providers.NodesByProvider.Keys);
        }
        else
        {
            Result("classifier strict on cuda", $"refused: {activation.Failure!.Reason}");
            Assert.Equal(ModelLoadStage.Providers, activation.Failure.Stage);
            Assert.Matches(@"^policy strict: \d+ nodes? would fall to the CPU instead of running on cuda: ", activation.Failure.Reason);
        }
    }

    /// <summary>
    /// Runs on every machine (the CPU-side check of hil-tests/run.sh): the self-check and each GPU provider's verdict
    /// agree, and a provider that cannot start says exactly why rather than "building".
    /// </summary>
    [Fact]
    public void SelfCheck_ThisMachine_AgreesWithEachProvidersVerdict()
    {
        var report = AcceleratorCheck.Run();
        var chain = ProviderChain.ForThisBuild();

        Result("onnx runtime", $"{report.OnnxRuntimeVersion} ({report.Flavour} flavour), providers {string.Join(", ", report.Providers)}");
        Result("cuda driver", report.Cuda.Devices.Count > 0
            ? $"{report.Cuda.DriverVersion}: {string.Join("; ", report.Cuda.Devices.Select(d => $"{d.Name}, {d.TotalMemoryBytes >> 20} MiB, compute {d.ComputeCapability}"))}"
            : $"no GPU: {report.Cuda.LoadError ?? report.Cuda.Error}");
        Result("libraries", string.Join(", ", report.Libraries.Select(l => $"{l.Name} {(l.Found ? "found" : "missing")}")) + $"; TensorRT {report.TensorRtVersion ?? "not found"}");
        foreach (var provider in new[] { ProviderNames.TensorRt, ProviderNames.Cuda })
        {
            var skip = chain.WhyNot(new ExecutionProviderOptions { Name = provider });
            Result($"{provider} provider", skip is null ? "can start" : $"{skip.State}: {skip.Reason}");
            if (skip is null)
            {
                Assert.NotEmpty(report.Cuda.Devices);
            }
            else
            {
                Assert.NotEqual(ProviderState.Building, skip.State);
                Assert.False(string.IsNullOrWhiteSpace(skip.Reason));
            }
        }
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

    /// <summary>One line of the results table hil-tests/run.sh prints for docs/benchmarks.md.</summary>
    private void Result(string check, string outcome) => output.WriteLine($"hil-result: {check} | {outcome}");

    private static float MaxDiff(float[][] expected, float[][] actual) =>
        expected.Zip(actual).SelectMany(p => p.First.Zip(p.Second, (e, a) => Math.Abs(e - a))).Max();

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
