using EdgeMl.Agent.Probation;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Tests.Probation;

public sealed class VersionWindowTests
{
    private static readonly BaselineDistribution TwoClasses = new() { Tensor = "y", Statistic = BaselineStatistic.Class, Counts = [0.5, 0.5] };

    [Fact]
    public void Figures_NoPreviousWindow_ComparesClassesWithThePackagesBaseline()
    {
        var window = Window(2, i => i % 10 == 0 ? [0f, 1f] : [1f, 0f]); // 90 % class 0, where the package saw half and half

        var figures = window.Figures(null, [TwoClasses]);

        Assert.Equal(VersionWindow.PackageBaseline, figures.PsiAgainst);
        Assert.InRange(figures.Psi["y"], 0.25, 10);
    }

    [Fact]
    public void Figures_TrafficAsThePackageSaw_SmallPsi()
    {
        var window = Window(2, i => i % 2 == 0 ? [0f, 1f] : [1f, 0f]);

        var figures = window.Figures(null, [TwoClasses]);

        Assert.InRange(figures.Psi["y"], 0, 0.01);
    }

    [Fact]
    public void Figures_PreviousWindowWithOutputs_WinsOverThePackage()
    {
        var previous = Window(2, i => i % 10 == 0 ? [0f, 1f] : [1f, 0f]);
        var window = Window(2, i => i % 10 == 0 ? [0f, 1f] : [1f, 0f]);

        var figures = window.Figures(previous, [TwoClasses]);

        Assert.Null(figures.PsiAgainst);
        Assert.InRange(figures.Psi["y"], 0, 0.01);
    }

    [Fact]
    public void Figures_ScoreOutput_BinnedByThePackagesEdges()
    {
        var scores = new BaselineDistribution { Tensor = "y", Statistic = BaselineStatistic.Value, Edges = [0, 0.5, 1], Counts = [1, 1] };
        var low = Window(1, i => [0.1f]); // every value in the first bin; outside values would fall into the end bins

        Assert.InRange(low.Figures(null, [scores]).Psi["y"], 0.25, 100);
        Assert.InRange(Window(1, i => [i % 2 == 0 ? -3f : 7f]).Figures(null, [scores]).Psi["y"], 0, 0.01);
    }

    [Fact]
    public void Figures_PackageDescribesAnotherStatisticOrTooFewRequests_NothingCompared()
    {
        var means = new BaselineDistribution { Tensor = "y", Statistic = BaselineStatistic.Mean, Edges = [0, 1], Counts = [1] };

        Assert.Empty(Window(2, i => [1f, 0f]).Figures(null, [means]).Psi);
        Assert.Empty(Window(2, i => [1f, 0f], requests: OutputPsi.MinObservations - 1).Figures(null, [TwoClasses]).Psi);
        Assert.Empty(Window(2, i => [1f, 0f]).Figures(null, []).Psi);
    }

    private static VersionWindow Window(int width, Func<int, float[]> row, int requests = 200)
    {
        var window = new VersionWindow(3);
        for (var i = 0; i < requests; i++)
        {
            var output = InferenceTensor.Create("y", [1, width], row(i));
            window.Record(InferenceResult.Success("m", 3, [output]), TimeSpan.FromMilliseconds(1));
        }

        return window;
    }
}
