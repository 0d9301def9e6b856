using BenchmarkDotNet.Attributes;

namespace EdgeMl.Benchmarks;

/// <summary>
/// The classifier at batch 1 through bare ONNX Runtime, the engine in process, and the agent's Open Inference
/// Protocol over loopback HTTP with the binary tensor extension and with JSON: what the HTTP API adds per request.
/// Per-request percentiles (p50/p99) come from <c>scripts/bench.sh latency</c> (<see cref="LatencyHarness"/>).
/// </summary>
[Config(typeof(EdgeMlBenchmarkConfig))]
public class HttpBenchmarks
{
    private AgentHttpSetup _setup = null!;

    [GlobalSetup]
    public void Setup() => _setup = new AgentHttpSetup();

    [Benchmark(Baseline = true, Description = "bare ONNX Runtime Run")]
    public float Bare() => _setup.Bare();

    [Benchmark(Description = "engine in process")]
    public Task<float> InProcess() => _setup.InProcessAsync();

    [Benchmark(Description = "HTTP v2 binary")]
    public Task<int> HttpBinary() => _setup.HttpBinaryAsync();

    [Benchmark(Description = "gRPC v2 raw")]
    public Task<int> GrpcRaw() => _setup.GrpcRawAsync();

    [Benchmark(Description = "HTTP v2 JSON")]
    public Task<int> HttpJson() => _setup.HttpJsonAsync();

    [GlobalCleanup]
    public void Cleanup() => _setup.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
