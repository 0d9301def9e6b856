using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Per-request latency percentiles of one classifier prediction on each path, in one run: the paths take turns
/// in short rounds so machine noise falls on all of them alike. BenchmarkDotNet's percentiles are over iteration
/// means; a latency budget is stated over single requests, which this measures.
/// </summary>
internal static class LatencyHarness
{
    private static string? _running;

    /// <summary>
    /// <c>latency [rounds]</c>: bare, in process, HTTP binary and JSON on the agent's default 1 % capture; plus two
    /// probes that split what HTTP adds (a bare round trip, and a binary body read and parsed for a version not served)
    /// and the server's own time per route from ASP.NET Core's <c>http.server.request.duration</c>.
    /// </summary>
    public static async Task RunAsync(string[] args)
    {
        // Paths run one call at a time, so the server's duration belongs to the path running when it is recorded.
        var server = new ConcurrentQueue<(string Path, double Microseconds)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "http.server.request.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            if (Volatile.Read(ref _running) is { } path)
            {
                server.Enqueue((path, seconds * 1e6));
            }
        });
        listener.Start();
        await using var setup = new AgentHttpSetup();
        await MeasureAsync(args, setup,
        [
            ("bare ONNX Runtime Run", () => { setup.Bare(); return Task.CompletedTask; }, []),
            ("engine in process", () => setup.InProcessAsync(), []),
            ("HTTP v2 binary", () => setup.HttpBinaryAsync(), []),
            ("HTTP v2 JSON", () => setup.HttpJsonAsync(), []),
            ("gRPC v2 raw", () => setup.GrpcRawAsync(), []),
            ("probe: GET /v2/health/live", () => setup.HttpProbeAsync("/v2/health/live", body: false), []),
            // An unknown model is refused before its body is read; a version not served is refused after it was parsed.
            ("probe: binary body, version not served (404)", () => setup.HttpProbeAsync("/v2/models/cls/versions/999/infer", body: true), []),
        ]);
        Console.WriteLine();
        Console.WriteLine("| path | server's own time P50 µs (Kestrel's http.server.request.duration) |");
        Console.WriteLine("| --- | ---: |");
        foreach (var path in server.GroupBy(s => s.Path))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {path.Key} | {Percentile([.. path.Select(r => r.Microseconds)], 50):F1} |"));
        }
    }

    /// <summary>
    /// <c>latency-hold binary|grpc SECONDS</c>: one path alone in a loop, for a profiler attached to this process
    /// (<c>dotnet-trace collect -p PID</c>); prints the process id, then requests per second.
    /// </summary>
    public static async Task HoldAsync(string[] args)
    {
        await using var setup = new AgentHttpSetup();
        Func<Task> call = args[1] == "grpc" ? setup.GrpcRawAsync : setup.HttpBinaryAsync;
        var seconds = double.Parse(args[2], CultureInfo.InvariantCulture);
        Console.WriteLine($"pid {Environment.ProcessId}: {args[1]} for {seconds} s");
        var clock = Stopwatch.StartNew();
        var count = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            await call();
            count++;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count / clock.Elapsed.TotalSeconds:F0} requests/s"));
    }

    /// <summary>
    /// <c>capture-cost [rounds] [maxRecordBytes]</c>: the engine alone against the prediction pipeline with capture
    /// at 100 % sampling (drift, the hand-off, and the writer committing to SQLite on the other core), and what the
    /// store kept. A small <c>maxRecordBytes</c> keeps input summaries instead of the 110 KB input tensor.
    /// </summary>
    public static async Task RunCaptureCostAsync(string[] args)
    {
        var maxRecordBytes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 256 * 1024;
        await using var setup = new AgentHttpSetup(captureRate: 1.0, maxRecordBytes);
        await MeasureAsync(args, setup,
        [
            ("bare ONNX Runtime Run", () => { setup.Bare(); return Task.CompletedTask; }, []),
            ("engine in process", () => setup.InProcessAsync(), []),
            ("pipeline, capture 100 %", () => setup.PipelineAsync(), []),
        ]);
        await Task.Delay(2000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"capture: {setup.Capture.QueuedTotal} queued, {setup.Capture.StoredTotal} stored, dropped {string.Join(", ", setup.Capture.DroppedByReason().Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value}"))}"));
    }

    private static async Task MeasureAsync(string[] args, AgentHttpSetup setup, (string Name, Func<Task> Call, List<double> Samples)[] paths)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40;
        const int PerRound = 100;
        foreach (var (_, call, _) in paths)
        {
            for (var i = 0; i < 200; i++)
            {
                await call();
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, call, samples) in paths)
            {
                Volatile.Write(ref _running, name);
                for (var i = 0; i < PerRound; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await call();
                    samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
            }

            Console.Error.Write($"\rround {round + 1}/{rounds}");
        }

        Console.Error.WriteLine();
        var bare = Percentile(paths[0].Samples, 50);
        var inProcess = Percentile(paths[1].Samples, 50);
        Console.WriteLine($"{rounds * PerRound} requests per path, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine("| path | mean µs | P50 µs | P99 µs | P50 ratio to bare | P50 added over in-process | throughput ratio to in-process |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        var inProcessMean = paths[1].Samples.Average();
        foreach (var (name, _, samples) in paths)
        {
            var p50 = Percentile(samples, 50);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {samples.Average():F1} | {p50:F1} | {Percentile(samples, 99):F1} | {p50 / bare:F2} | {p50 - inProcess:F1} | {inProcessMean / samples.Average():F3} |"));
        }
    }

    private static double Percentile(List<double> samples, double percent)
    {
        var sorted = samples.Order().ToArray();
        var rank = (percent / 100.0) * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
