using System.Diagnostics;
using System.Globalization;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Where one classifier request's time and allocations go on the server: each stage of the request path called
/// alone on the agent's real host (its listeners, drift, capture at 1 %), many times on one thread, with the time
/// and the bytes this thread allocated per call. The HTTP stages come from the probes of <c>latency</c> and
/// <c>latency-remote</c> (floor, body read); this measures what runs between the body and the response.
/// </summary>
internal static class BreakdownHarness
{
    /// <summary><c>breakdown [calls]</c>.</summary>
    public static async Task RunAsync(string[] args)
    {
        var calls = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4000;
        await using var setup = new AgentHttpSetup();
        var services = setup.Services;
        var engine = services.GetRequiredService<InferenceEngine>();
        var metrics = services.GetRequiredService<RuntimeMetrics>();
        var drift = services.GetRequiredService<DriftRegistry>();
        var capture = services.GetRequiredService<CaptureRecorder>();
        var status = engine.GetStatus("cls")!;
        var body = setup.BinaryBody;
        var headerLength = long.Parse(setup.BinaryHeaderLength, CultureInfo.InvariantCulture);
        var call = InferRequestReader.Read(body, headerLength);
        var result = await engine.InferAsync("cls", call.Request);
        var tag = new KeyValuePair<string, object?>("model", "cls");

        (string Stage, Action Run)[] stages =
        [
            ("header parse and tensor slicing (InferRequestReader)", () => InferRequestReader.Read(body, headerLength)),
            ("validation against the signature", () => _ = TensorValidator.Validate(call.Request, status.Signature!, long.MaxValue) ?? TensorValidator.ValidateOutputs(call.Request.Outputs, status.Signature!)),
            ("bare ONNX Runtime Run (same process)", () => setup.Bare()),
            ("engine: lease, turn, validation, Run, output copy, metrics", () => engine.InferAsync("cls", call.Request).AsTask().GetAwaiter().GetResult()),
            ("metrics and health statistics (2 records, all listeners)", () => { metrics.Requests.Add(1, tag); metrics.Duration.Record(0.0007, tag); }),
            ("drift observation", () => drift.Observe("cls", result.Version, call.Request.Inputs, result.Outputs)),
            ("capture sampling (1 %)", () => capture.Capture(call.Request, result, TimeSpan.FromMilliseconds(1), "cpu")),
            ("provider name for the capture record", () => engine.EffectiveProvider("cls")),
            ("response build (InferResponseWriter)", () => InferResponseWriter.Build(call, result)),
        ];

        Console.WriteLine($"{calls} calls per stage, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine("| stage | mean µs | allocated B per call |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var (stage, run) in stages)
        {
            for (var i = 0; i < 200; i++)
            {
                run();
            }

            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++)
            {
                run();
            }

            var elapsed = Stopwatch.GetElapsedTime(started).TotalMicroseconds / calls;
            var allocated = (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)calls;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {stage} | {elapsed:F2} | {allocated:F0} |"));
        }

        Console.WriteLine($"load average at the end {LoadAverage()}");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";
}
