using EdgeMl.FleetHarness;

// ./scripts/bench.sh fleet [N] [--canary 0.1] [--load-callers 2] [--hub-down 5] [--steady 360] [--EdgeMl:…=…]:
// N real agents against the IoT Hub simulator, a staged rollout under load, a hub restart, hub traffic per device.
// Prints the figures as markdown (docs/benchmarks.md, "Fleet rollout") and writes them to artifacts/fleet/.
FleetOptions options;
try
{
    options = FleetOptions.Parse(args.Length > 0 && int.TryParse(args[0], out _) ? ["--agents", .. args] : args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"fleet: {e.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

FleetReport report;
try
{
    report = await new FleetRollout(options, Console.Out).RunAsync(stop.Token);
}
catch (Exception e) when (e is TimeoutException or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"fleet: {e.Message}");
    return 1;
}

var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[..3] : ["?", "?", "?"];
var machine = $"{Environment.ProcessorCount} cores, load average {string.Join(' ', load)} at the end";
var markdown = report.ToMarkdown(machine);
Console.WriteLine();
Console.WriteLine(markdown);
var output = Path.Combine(Environment.GetEnvironmentVariable("EDGEML_FLEET_OUT") ?? "artifacts/fleet", $"fleet-{options.Agents}.md");
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, markdown);
Console.WriteLine($"written to {output}");
foreach (var failure in report.FailedRequests.Take(20))
{
    Console.Error.WriteLine($"failed request: {failure}");
}

return report.FailedRequests.Count == 0 ? 0 : 1;
