using System.Reflection;
using BenchmarkDotNet.Running;
using EdgeMl.Benchmarks;

if (args.Length > 0 && args[0] == "capture-throughput")
{
    CaptureStoreBenchmarks.MeasureSustained(args);
    return;
}

if (args.Length > 0 && args[0] == "capture-cost")
{
    await LatencyHarness.RunCaptureCostAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "breakdown")
{
    await BreakdownHarness.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "startup")
{
    await RemoteLatencyHarness.CompareStartupAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "shadow-cost")
{
    await RemoteLatencyHarness.CompareShadowAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "agent-ab")
{
    await RemoteLatencyHarness.CompareSettingsAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "latency-remote")
{
    await RemoteLatencyHarness.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "latency-hold")
{
    await LatencyHarness.HoldAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "latency")
{
    await LatencyHarness.RunAsync(args);
    return;
}

// Not typeof(Program): the agent's own Program is visible here too (InternalsVisibleTo, for the capture benchmarks).
BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
