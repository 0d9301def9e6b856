using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace EdgeMl.Benchmarks;

/// <summary>
/// In-process (no generated project to build on a 2-core box), a modest number of iterations, and the
/// percentiles a latency budget is stated in.
/// </summary>
public sealed class EdgeMlBenchmarkConfig : ManualConfig
{
    public EdgeMlBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(5)
            .WithIterationCount(20)
            .WithId("edgeml"));
        AddColumn(StatisticColumn.P50, StatisticColumn.P95);
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}
