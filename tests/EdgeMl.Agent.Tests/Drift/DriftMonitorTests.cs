using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Drift;

public class DriftMonitorTests
{
    private static readonly DriftBaseline Baseline = new()
    {
        Samples = 100,
        Inputs = [new BaselineDistribution { Tensor = "x", Statistic = BaselineStatistic.Mean, Edges = [0, 0.5, 1], Counts = [50, 50] }],
        Outputs = [new BaselineDistribution { Tensor = "p", Statistic = BaselineStatistic.Class, Counts = [0.5, 0.5] }],
    };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly DriftOptions _options = new() { MinSamples = 4, Window = TimeSpan.FromMinutes(10), WindowSlices = 10 };

    [Fact]
    public void Evaluate_TooFewSamples_Unknown()
    {
        var monitor = new DriftMonitor("m", 1, Baseline, _options, _time);
        Observe(monitor, 0.25, 0);
        Assert.Equal(DriftLevel.Unknown, monitor.Evaluate().Level);
    }

    [Fact]
    public void Evaluate_ClassesShifted_SignificantWithHandComputedDistances()
    {
        var monitor = new DriftMonitor("m", 1, Baseline, _options, _time);
        DriftEvent? raised = null;
        monitor.LevelChanged += e => raised = e;

        // Inputs stay balanced (two means per bin); classes go 1 : 3 against the baseline's 1 : 1.
        Observe(monitor, 0.25, 0);
        Observe(monitor, 0.25, 1);
        Observe(monitor, 0.75, 1);
        Observe(monitor, 0.75, 1);
        var report = monitor.Evaluate();

        var input = report.Features.Single(f => f.Key == "x:mean");
        Assert.Equal(0, input.PopulationStabilityIndex, 12);
        Assert.Equal(DriftLevel.None, input.Level);

        var output = report.Features.Single(f => f.Key == "p:class");
        Assert.Equal(4, output.Samples);
        Assert.Equal((0.25 * Math.Log(2)) + (0.25 * Math.Log(1.5)), output.PopulationStabilityIndex, 12);
        Assert.Equal(0.25, output.KolmogorovSmirnov, 12);
        Assert.Equal(0.220895, output.JensenShannon, 5);
        Assert.Equal(DriftLevel.Significant, report.Level);
        Assert.NotNull(raised);
        Assert.Equal(DriftLevel.Unknown, raised.Previous);
        Assert.Equal(DriftLevel.Significant, raised.Current);
    }

    [Fact]
    public void Distributions_ClassesShifted_BaselineBesideLiveWithTheEvaluatedDistancesAndNoLevelChange()
    {
        var monitor = new DriftMonitor("m", 1, Baseline, _options, _time);
        var raised = 0;
        monitor.LevelChanged += _ => raised++;
        Observe(monitor, 0.25, 0);
        Observe(monitor, 0.25, 1);
        Observe(monitor, 0.75, 1);
        Observe(monitor, 0.75, 1);

        var distributions = monitor.Distributions();

        // Looking moves nothing: no level, no event; Evaluate afterwards still sees the change.
        Assert.Equal(0, raised);
        Assert.Equal(DriftLevel.Unknown, monitor.Level);
        var classes = distributions.Single(d => d.Baseline.Key == "p:class");
        Assert.Equal([1L, 3L], classes.Live);
        Assert.Equal(DriftLevel.Significant, classes.Drift.Level);
        var means = distributions.Single(d => d.Baseline.Key == "x:mean");
        Assert.Equal([2L, 2L], means.Live);
        Assert.Equal("input", means.Drift.Side);
        var evaluated = monitor.Evaluate().Features.Single(f => f.Key == "p:class");
        Assert.Equal(evaluated, classes.Drift);
        Assert.Equal(1, raised);
    }

    [Fact]
    public void Evaluate_ModerateThreshold_Moderate()
    {
        // PSI of 0.4 : 0.6 against 0.5 : 0.5 is 0.1·ln 1.5 ≈ 0.0405: below 0.1. Lower the thresholds to see levels.
        var options = new DriftOptions { MinSamples = 10, ModeratePsi = 0.04, SignificantPsi = 0.05 };
        var monitor = new DriftMonitor("m", 1, Baseline, options, _time);
        for (var i = 0; i < 10; i++)
        {
            Observe(monitor, 0.25 + (i % 2 * 0.5), i < 4 ? 0 : 1);
        }

        var output = monitor.Evaluate().Features.Single(f => f.Side == "output");
        Assert.Equal(0.1 * Math.Log(1.5), output.PopulationStabilityIndex, 12);
        Assert.Equal(DriftLevel.Moderate, output.Level);
    }

    [Fact]
    public void Evaluate_DriftLeavesWindow_FallsBackAndRaisesEvent()
    {
        var monitor = new DriftMonitor("m", 1, Baseline, _options, _time);
        var events = new List<DriftEvent>();
        monitor.LevelChanged += events.Add;
        for (var i = 0; i < 4; i++)
        {
            Observe(monitor, 0.25, 1);
        }

        Assert.Equal(DriftLevel.Significant, monitor.Evaluate().Level);

        _time.Advance(TimeSpan.FromMinutes(11));
        for (var i = 0; i < 4; i++)
        {
            Observe(monitor, 0.25 + (i % 2 * 0.5), i % 2);
        }

        Assert.Equal(DriftLevel.None, monitor.Evaluate().Level);
        Assert.Equal([DriftLevel.Significant, DriftLevel.None], events.Select(e => e.Current));
    }

    [Fact]
    public void Registry_Drifting_RaisesCaptureSampleRateAndFallsBack()
    {
        var registry = new DriftRegistry(Options.Create(_options), _time);
        registry.Activate("m", 1, Baseline);
        var capture = new CaptureOptions { SampleRate = 0.01, DriftingSampleRate = 0.5 };
        for (var i = 0; i < 4; i++)
        {
            registry.Observe("m", 1, [Input(0.25)], [Scores(1)]);
        }

        Assert.False(registry.IsDrifting("m"));
        registry.EvaluateAll();
        Assert.True(registry.IsDrifting("m"));
        Assert.Equal(0.5, CapturePolicy.SampleRate(capture, registry.IsDrifting("m")));

        _time.Advance(TimeSpan.FromMinutes(11));
        for (var i = 0; i < 4; i++)
        {
            registry.Observe("m", 1, [Input(0.25 + (i % 2 * 0.5))], [Scores(i % 2)]);
        }

        registry.EvaluateAll();
        Assert.False(registry.IsDrifting("m"));
        Assert.Equal(0.01, CapturePolicy.SampleRate(capture, registry.IsDrifting("m")));
    }

    [Fact]
    public void Registry_OtherVersion_NotObserved()
    {
        var registry = new DriftRegistry(Options.Create(_options), _time);
        registry.Activate("m", 2, Baseline);
        registry.Observe("m", 1, [Input(0.25)], [Scores(1)]);
        Assert.All(registry.Find("m")!.Evaluate().Features, f => Assert.Equal(0, f.Samples));
    }

    [Fact]
    public void Observe_FeatureOfTabularInput_OneObservationPerRow()
    {
        var baseline = new DriftBaseline
        {
            Inputs = [new BaselineDistribution { Tensor = "t", Statistic = BaselineStatistic.Feature, Index = 1, Edges = [0, 10, 20], Counts = [1, 1] }],
        };
        var monitor = new DriftMonitor("m", 1, baseline, _options, _time);
        // Three rows of two features; feature 1 is 5, 15, 15.
        monitor.Observe([InferenceTensor.Create("t", [3, 2], new float[] { 100, 5, 100, 15, 100, 15 })], []);
        var f = Assert.Single(monitor.Evaluate().Features);
        Assert.Equal(3, f.Samples);
    }

    private static void Observe(DriftMonitor monitor, double mean, int cls) => monitor.Observe([Input(mean)], [Scores(cls)]);

    private static InferenceTensor Input(double mean) => InferenceTensor.Create("x", [1, 2], new float[] { (float)mean, (float)mean });

    private static InferenceTensor Scores(int cls) => InferenceTensor.Create("p", [1, 2], cls == 0 ? new float[] { 0.9f, 0.1f } : new float[] { 0.2f, 0.8f });
}
