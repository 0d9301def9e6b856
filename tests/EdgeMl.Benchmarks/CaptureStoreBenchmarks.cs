using BenchmarkDotNet.Attributes;
using EdgeMl.Agent.Capture;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Sustained capture store throughput: small records (a 4-float input, a 2-float output) appended in batched
/// transactions, as the writer does. One operation = <see cref="RecordsPerOperation"/> records; records/s =
/// RecordsPerOperation / mean time. The quota is large enough that nothing is evicted.
/// </summary>
[MemoryDiagnoser]
public class CaptureStoreBenchmarks
{
    public const int RecordsPerOperation = 20_000;

    private readonly TestMeterFactory _meters = new();
    private CaptureStore _store = null!;
    private CaptureRecord[][] _batches = null!;
    private string _folder = null!;

    [Params(256, 2048)]
    public int BatchSize { get; set; }

    [Params(CaptureSynchronous.Full, CaptureSynchronous.Normal)]
    public CaptureSynchronous Synchronous { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("edgeml-bench-capture-").FullName;
        var options = new CaptureStoreOptions
        {
            Path = Path.Combine(_folder, "capture.db"),
            QuotaBytes = 64L * 1024 * 1024 * 1024,
            MaxBatchSize = BatchSize,
            Synchronous = Synchronous,
        };
        _store = CaptureStore.Open(options, new CaptureMetrics(_meters), TimeProvider.System, NullLogger.Instance);
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, RecordsPerOperation).Select(i => new CaptureRecord
        {
            Model = "classifier",
            Version = 1,
            Timestamp = now,
            LatencyMilliseconds = 0.8,
            Provider = "cpu",
            Inputs = [CaptureRecord.Copy(InferenceTensor.Create("x", [1, 4], new float[] { i, 1, 2, 3 }))],
            Outputs = [CaptureRecord.Copy(InferenceTensor.Create("p", [1, 2], new float[] { 0.25f, 0.75f }))],
        }).ToArray();
        _batches = records.Chunk(BatchSize).ToArray();
    }

    [Benchmark(OperationsPerInvoke = RecordsPerOperation, Description = "Append (per record)")]
    public int Append()
    {
        var stored = 0;
        foreach (var batch in _batches)
        {
            stored += _store.Append(batch).Stored;
        }

        return stored;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        _meters.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
