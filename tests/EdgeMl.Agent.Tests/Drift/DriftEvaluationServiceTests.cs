using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Drift;

public sealed class DriftEvaluationServiceTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly DriftOptions _options = new() { MinSamples = 4, EvaluationInterval = TimeSpan.FromMinutes(1) };

    [Fact]
    public async Task ExecuteAsync_DriftCrossesThreshold_LevelChangeCountedAndGaugesReported()
    {
        var registry = new DriftRegistry(Options.Create(_options), _time);
        var metrics = new DriftMetrics(_meters, registry);
        using var changes = new MetricCollector<long>(_meters, DriftMetrics.MeterName, "edgeml.drift.level_changes");
        using var psi = new MetricCollector<double>(_meters, DriftMetrics.MeterName, "edgeml.drift.psi");
        using var service = new DriftEvaluationService(registry, metrics, Options.Create(_options), _time, NullLogger<DriftEvaluationService>.Instance, new AgentEventLog(_time));
        registry.Activate("m", 1, new DriftBaseline
        {
            Outputs = [new BaselineDistribution { Tensor = "p", Statistic = BaselineStatistic.Class, Counts = [1, 1] }],
        });
        for (var i = 0; i < 4; i++)
        {
            registry.Observe("m", 1, [], [InferenceTensor.Create("p", [1, 2], new float[] { 0.2f, 0.8f })]);
        }

        await service.StartAsync(CancellationToken.None);
        await Eventually.AdvanceUntilAsync(_time, () => changes.GetMeasurementSnapshot().Count > 0, "a drift level change", TimeSpan.FromMinutes(1));

        await service.StopAsync(CancellationToken.None);
        var change = Assert.Single(changes.GetMeasurementSnapshot());
        Assert.Equal("Significant", change.Tags["level"]);
        psi.RecordObservableInstruments();
        // All four observations in class 1 against 1 : 1: both bins hit the 1e-4 floor or 1.
        var expected = ((1e-4 - 0.5) * Math.Log(1e-4 / 0.5)) + ((1 - 0.5) * Math.Log(1 / 0.5));
        Assert.Equal(expected, psi.LastMeasurement!.Value, 9);
        Assert.Equal("p:class", psi.LastMeasurement.Tags["feature"]);
    }

    public void Dispose() => _meters.Dispose();
}
