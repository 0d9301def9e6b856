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

    /// <summary>
    /// <c>dotnet run -c Release -- capture-throughput [records] [batch] [full|normal]</c>: one sustained run, reporting
    /// records per second of wall time and of process CPU time (the second holds up on a shared, busy machine).
    /// </summary>
    public static void MeasureSustained(string[] args)
    {
        var total = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 500_000;
        var bench = new CaptureStoreBenchmarks
        {
            BatchSize = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2048,
            Synchronous = args.Length > 3 && args[3] == "normal" ? CaptureSynchronous.Normal : CaptureSynchronous.Full,
        };
        bench.Setup();
        bench.Append(); // warm-up
        var process = System.Diagnostics.Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var stored = 0;
        while (stored < total)
        {
            stored += bench.Append();
        }

        wall.Stop();
        process.Refresh();
        var cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(
            $"capture store: {stored} records, batch {bench.BatchSize}, synchronous {bench.Synchronous}: " +
            $"{stored / wall.Elapsed.TotalSeconds:N0} records/s wall, {stored / cpuSeconds:N0} records/s of CPU time " +
            $"(load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        bench.Cleanup();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        _meters.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
