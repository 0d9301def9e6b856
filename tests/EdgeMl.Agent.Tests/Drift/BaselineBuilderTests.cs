using EdgeMl.Agent.Drift;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Drift;

public class BaselineBuilderTests
{
    [Fact]
    public void QuantileEdges_ZeroTo99_QuartilesByLinearInterpolation()
    {
        var edges = BaselineBuilder.QuantileEdges(Enumerable.Range(0, 100).Select(i => (double)i).ToArray(), 4);
        Assert.Equal([0, 24.75, 49.5, 74.25, 99], edges);
    }

    [Fact]
    public void QuantileEdges_OneValue_OneBinAroundIt()
    {
        Assert.Equal([2.5, 3.5], BaselineBuilder.QuantileEdges([3, 3, 3], 10));
    }

    [Fact]
    public void Build_Samples_EqualShareBinsAndClassCounts()
    {
        var builder = new BaselineBuilder(BaselineBuilder.Defaults(
            [new ManifestTensorSpec("x", "FP32", [1, 2])],
            [new ManifestTensorSpec("p", "FP32", [1, 2])]));
        for (var i = 0; i < 100; i++)
        {
            // Input mean i, std 0; class 1 for a quarter of the samples.
            builder.Add(
                [InferenceTensor.Create("x", [1, 2], new float[] { i, i })],
                [InferenceTensor.Create("p", [1, 2], i % 4 == 0 ? new float[] { 0.1f, 0.9f } : new float[] { 0.9f, 0.1f })]);
        }

        var baseline = builder.Build(bins: 4);
        Assert.Equal(100, baseline.Samples);
        var mean = baseline.Inputs.Single(d => d.Statistic == BaselineStatistic.Mean);
        Assert.Equal([0, 24.75, 49.5, 74.25, 99], mean.Edges!);
        Assert.Equal([25.0, 25, 25, 25], mean.Counts);
        var std = baseline.Inputs.Single(d => d.Statistic == BaselineStatistic.Std);
        Assert.Equal([-0.5, 0.5], std.Edges!);
        var classes = Assert.Single(baseline.Outputs);
        Assert.Equal([75.0, 25], classes.Counts);
        Assert.Empty(baseline.Check());
    }

    [Fact]
    public void Build_SameTrafficAsBaseline_NoDrift()
    {
        var builder = new BaselineBuilder([new BaselineRequest("x", false, BaselineStatistic.Mean)]);
        var traffic = Enumerable.Range(0, 400).Select(i => InferenceTensor.Create("x", [1], new float[] { i % 100 })).ToArray();
        foreach (var t in traffic)
        {
            builder.Add([t], []);
        }

        var monitor = new DriftMonitor("m", 1, builder.Build(), new DriftOptions { MinSamples = 100 }, new FakeTimeProvider());
        foreach (var t in traffic)
        {
            monitor.Observe([t], []);
        }

        var report = monitor.Evaluate();
        Assert.Equal(DriftLevel.None, report.Level);
        Assert.Equal(0, report.MaxPopulationStabilityIndex, 12);
    }
}
