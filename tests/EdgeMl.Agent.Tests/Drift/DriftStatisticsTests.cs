using EdgeMl.Agent.Drift;

namespace EdgeMl.Agent.Tests.Drift;

public class DriftStatisticsTests
{
    [Fact]
    public void PopulationStabilityIndex_HalfToQuarter_MatchesHandComputed()
    {
        // (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.25·ln 2 + 0.25·ln 1.5
        var expected = (0.25 * Math.Log(2)) + (0.25 * Math.Log(1.5));
        var psi = DriftStatistics.PopulationStabilityIndex([0.5, 0.5], [0.25, 0.75]);
        Assert.Equal(expected, psi, 12);
        Assert.Equal(0.274653, psi, 6);
    }

    [Fact]
    public void PopulationStabilityIndex_CountsOrFrequencies_Same()
    {
        Assert.Equal(
            DriftStatistics.PopulationStabilityIndex([0.5, 0.5], [0.25, 0.75]),
            DriftStatistics.PopulationStabilityIndex([10, 10], [25, 75]),
            12);
    }

    [Fact]
    public void PopulationStabilityIndex_EmptyBin_SmoothedWithEpsilon()
    {
        // Both bins hit the 1e-4 floor: 2 · (1 − 1e-4) · ln(1 / 1e-4)
        var psi = DriftStatistics.PopulationStabilityIndex([1, 0], [0, 1]);
        Assert.Equal(2 * 0.9999 * Math.Log(1e4), psi, 9);
    }

    [Fact]
    public void AllDistances_IdenticalDistributions_Zero()
    {
        double[] p = [3, 1, 4, 1, 5];
        Assert.Equal(0, DriftStatistics.PopulationStabilityIndex(p, p), 12);
        Assert.Equal(0, DriftStatistics.KolmogorovSmirnov(p, p), 12);
        Assert.Equal(0, DriftStatistics.JensenShannonDistance(p, p), 6);
    }

    [Fact]
    public void KolmogorovSmirnov_Binned_LargestCumulativeGap()
    {
        // CDFs 0.5, 1.0 vs 0.25, 1.0
        Assert.Equal(0.25, DriftStatistics.KolmogorovSmirnov([0.5, 0.5], [0.25, 0.75]), 12);
        // CDFs 0.2, 0.5, 1.0 vs 0.6, 0.9, 1.0: gaps 0.4, 0.4, 0
        Assert.Equal(0.4, DriftStatistics.KolmogorovSmirnov([2, 3, 5], [6, 3, 1]), 12);
    }

    [Fact]
    public void KolmogorovSmirnovSamples_ShiftedSamples_HandComputed()
    {
        // F1 − F2 at 2: 0.5 − 0; at 3: 0.75 − 0.25; at 4: 1 − 0.5; at 5: 1 − 0.75.
        Assert.Equal(0.5, DriftStatistics.KolmogorovSmirnovSamples([1, 2, 3, 4], [3, 4, 5, 6]), 12);
        Assert.Equal(1.0, DriftStatistics.KolmogorovSmirnovSamples([1, 2], [3, 4]), 12);
        Assert.Equal(0.0, DriftStatistics.KolmogorovSmirnovSamples([1, 2, 3], [3, 2, 1]), 12);
    }

    [Fact]
    public void JensenShannonDistance_HalfToQuarter_MatchesHandComputed()
    {
        // m = (0.375, 0.625); KL(p‖m) = 0.5·log2(0.5/0.375) + 0.5·log2(0.5/0.625);
        // KL(q‖m) = 0.25·log2(0.25/0.375) + 0.75·log2(0.75/0.625); distance = √(½KL(p‖m) + ½KL(q‖m)).
        var kpm = (0.5 * Math.Log2(0.5 / 0.375)) + (0.5 * Math.Log2(0.5 / 0.625));
        var kqm = (0.25 * Math.Log2(0.25 / 0.375)) + (0.75 * Math.Log2(0.75 / 0.625));
        var js = DriftStatistics.JensenShannonDistance([0.5, 0.5], [0.25, 0.75]);
        Assert.Equal(Math.Sqrt((kpm + kqm) / 2), js, 12);
        Assert.Equal(0.220895, js, 5);
    }

    [Fact]
    public void JensenShannonDistance_Disjoint_One()
    {
        Assert.Equal(1.0, DriftStatistics.JensenShannonDistance([1, 0], [0, 1]), 12);
    }

    [Fact]
    public void PopulationStabilityIndex_DifferentBinCounts_Throws()
    {
        Assert.Throws<ArgumentException>(() => DriftStatistics.PopulationStabilityIndex([1, 2], [1, 2, 3]));
    }
}
