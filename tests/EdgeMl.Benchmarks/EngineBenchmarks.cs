using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Benchmarks;

/// <summary>
/// One prediction: bare ONNX Runtime <c>Run</c> (the baseline) against the engine, on the same model, input
/// and thread settings. The engine's cost is validation, the lease on the active version, the concurrency
/// turn, metrics and copying the outputs out of ONNX Runtime's memory.
/// </summary>
[Config(typeof(EdgeMlBenchmarkConfig))]
public class EngineBenchmarks
{
    private InferenceSession _bare = null!;
    private RunOptions _runOptions = null!;
    private float[] _data = null!;
    private long[] _shape = null!;
    private string _outputName = null!;
    private InferenceEngine _engine = null!;
    private InferenceRequest _request = null!;
    private ActivityListener? _tracing;

    /// <summary>Every case, or those named in <c>EDGEML_BENCH_CASES</c> (e.g. <c>classifier-b1</c>) for a quicker run.</summary>
    public static IEnumerable<string> Cases =>
        Environment.GetEnvironmentVariable("EDGEML_BENCH_CASES")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
        ?? ["classifier-b1", "classifier-b8", "detector-640"];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "classifier-b1";

    [GlobalSetup]
    public void Setup()
    {
        var (path, shape, threads) = Case switch
        {
            "classifier-b1" => (ModelFixtures.Classifier, new long[] { 1, 3, 48, 192 }, 1),
            "classifier-b8" => (ModelFixtures.Classifier, new long[] { 8, 3, 48, 192 }, 1),
            _ => (ModelFixtures.Detector, new long[] { 1, 3, 640, 640 }, 2),
        };
        _shape = shape;
        _data = ModelFixtures.SampleInput(shape, seed: 1);
        using var options = new SessionOptions { IntraOpNumThreads = threads };
        _bare = new InferenceSession(path, options);
        _runOptions = new RunOptions();
        _outputName = _bare.OutputNames[0];

        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
        var activation = _engine.ActivateAsync(new ModelDefinition
        {
            Name = "bench",
            Version = 1,
            ModelPath = path,
            Session = new ModelSessionOptions { IntraOpThreads = threads },
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Runs = 3, Shapes = { ["x"] = shape } },
        }).GetAwaiter().GetResult();
        if (!activation.Succeeded)
        {
            throw new InvalidOperationException(activation.Failure!.Reason);
        }

        _request = new InferenceRequest([InferenceTensor.Create("x", shape, _data)]);
        Console.WriteLine($"// ONNX Runtime {OnnxRuntimeBuild.Version}, {OnnxRuntimeBuild.Flavour} flavour (providers {string.Join(", ", OnnxRuntimeBuild.Providers)}); both sides run on the CPU provider");
    }

    [Benchmark(Baseline = true, Description = "bare ONNX Runtime Run")]
    public float Bare()
    {
        using var input = OrtValue.CreateTensorValueFromMemory(_data, _shape);
        using var results = _bare.Run(_runOptions, ["x"], [input], [_outputName]);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark(Description = "engine InferAsync")]
    public float Engine()
    {
        // Without batching the engine answers synchronously, as bare Run does.
        var pending = _engine.InferAsync("bench", _request);
        // Disposed as the front doors dispose an answer once written: a large output's pooled buffer goes back.
        using var result = pending.IsCompleted ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return result.Outputs[0].Span<float>()[0];
    }

    /// <summary>The engine with a listener recording every EdgeMl span, as with <c>EdgeMl:Otlp:Endpoint</c> set (the export itself is not timed).</summary>
    [GlobalSetup(Target = nameof(EngineTraced))]
    public void SetupTraced()
    {
        Setup();
        _tracing = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EdgeMlTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_tracing);
    }

    [Benchmark(Description = "engine InferAsync, traced")]
    public float EngineTraced() => Engine();

    [GlobalCleanup]
    public void Cleanup()
    {
        _tracing?.Dispose();
        _engine.Dispose();
        _bare.Dispose();
        _runOptions.Dispose();
    }
}
