using BenchmarkDotNet.Attributes;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Eight callers, each sending single-image requests to the classifier, without dynamic batching, with it, and with
/// <c>batching: auto</c> (which measures both on the traffic and serves with the faster), under three layouts: one intra-op thread and one run at a time (batching's own effect), one thread per run
/// with two runs at once, or two threads with one run at a time (the same layout on both sides of each comparison). One operation
/// is 8 × <see cref="RequestsPerCaller"/> predictions, so throughput is their ratio of times.
/// </summary>
[Config(typeof(EdgeMlBenchmarkConfig))]
public class ConcurrentCallersBenchmarks
{
    public const int Callers = 8;
    public const int RequestsPerCaller = 32;

    private InferenceEngine _engine = null!;
    private InferenceRequest[] _requests = null!;

    /// <summary>Every layout, or those named in <c>EDGEML_BENCH_LAYOUTS</c> (e.g. <c>intra1-runs2</c>) for a quicker run.</summary>
    public static IEnumerable<string> Layouts =>
        Environment.GetEnvironmentVariable("EDGEML_BENCH_LAYOUTS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
        ?? ["intra1-runs1", "intra1-runs2", "intra2-runs1"];

    [ParamsSource(nameof(Layouts))]
    public string Layout { get; set; } = "intra1-runs2";

    [Params("off", "on", "auto")]
    public string Batching { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
        var activation = _engine.ActivateAsync(new ModelDefinition
        {
            Name = "cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = Layout == "intra2-runs1" ? 2 : 1 },
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Runs = 3, Shapes = { ["x"] = [8, 3, 48, 192] } },
            Serving = new ServingOptions
            {
                MaxConcurrency = Layout == "intra1-runs2" ? 2 : 1,
                MaxQueue = 64,
                Batching = new BatchingOptions { Enabled = Batching == "on", Auto = Batching == "auto", MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(2) },
            },
        }).GetAwaiter().GetResult();
        if (!activation.Succeeded)
        {
            throw new InvalidOperationException(activation.Failure!.Reason);
        }

        _requests = Enumerable.Range(0, Callers)
            .Select(i => new InferenceRequest([InferenceTensor.Create("x", [1, 3, 48, 192], ModelFixtures.SampleInput([1, 3, 48, 192], i))]))
            .ToArray();
    }

    [Benchmark(OperationsPerInvoke = Callers * RequestsPerCaller)]
    public async Task EightCallers()
    {
        var callers = new Task[Callers];
        for (var c = 0; c < Callers; c++)
        {
            var request = _requests[c];
            callers[c] = Task.Run(async () =>
            {
                for (var i = 0; i < RequestsPerCaller; i++)
                {
                    var result = await _engine.InferAsync("cls", request);
                    if (!result.IsSuccess)
                    {
                        throw new InvalidOperationException(result.Error!.Message);
                    }
                }
            });
        }

        await Task.WhenAll(callers);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // What auto chose and why, beside BenchmarkDotNet's table.
        if (_engine.GetStatus("cls")?.Batching is { } choice)
        {
            Console.WriteLine($"// batching auto ({Layout}): {choice.Mode}, {choice.Reason}");
        }

        _engine.Dispose();
    }
}
