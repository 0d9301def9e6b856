using System.Diagnostics;
using System.Globalization;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Per-request latency percentiles of one classifier prediction on each path, in one run: the paths take turns
/// in short rounds so machine noise falls on all of them alike. BenchmarkDotNet's percentiles are over iteration
/// means; a latency budget is stated over single requests, which this measures.
/// </summary>
internal static class LatencyHarness
{
    /// <summary><c>latency [rounds]</c>: bare, in process, HTTP binary, HTTP JSON, on the agent's default 1 % capture.</summary>
    public static async Task RunAsync(string[] args)
    {
        await using var setup = new AgentHttpSetup();
        await MeasureAsync(args, setup,
        [
            ("bare ONNX Runtime Run", () => { setup.Bare(); return Task.CompletedTask; }, []),
            ("engine in process", () => setup.InProcessAsync(), []),
            ("HTTP v2 binary", () => setup.HttpBinaryAsync(), []),
            ("HTTP v2 JSON", () => setup.HttpJsonAsync(), []),
        ]);
    }

    /// <summary>
    /// <c>capture-cost [rounds]</c>: the engine alone against the prediction pipeline with capture at 100 %
    /// sampling (drift, the hand-off, and the writer committing to SQLite on the other core), and what the store kept.
    /// </summary>
    public static async Task RunCaptureCostAsync(string[] args)
    {
        await using var setup = new AgentHttpSetup(captureRate: 1.0);
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
            foreach (var (_, call, samples) in paths)
            {
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
