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
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40;
        const int PerRound = 100;
        await using var setup = new AgentHttpSetup();
        var paths = new (string Name, Func<Task> Call, List<double> Samples)[]
        {
            ("bare ONNX Runtime Run", () => { setup.Bare(); return Task.CompletedTask; }, []),
            ("engine in process", () => setup.InProcessAsync(), []),
            ("HTTP v2 binary", () => setup.HttpBinaryAsync(), []),
            ("HTTP v2 JSON", () => setup.HttpJsonAsync(), []),
        };
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
        Console.WriteLine("| path | P50 µs | P99 µs | P50 ratio to bare | P50 added over in-process |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, _, samples) in paths)
        {
            var p50 = Percentile(samples, 50);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {p50:F1} | {Percentile(samples, 99):F1} | {p50 / bare:F2} | {p50 - inProcess:F1} |"));
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
