using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Tests.Health;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Drift;

/// <summary>
/// Drift results where operators read them: the health document (full for MQTT, the API and the diagnostics page;
/// compact for the twin) and the agent's event log when a threshold is crossed.
/// </summary>
public sealed class DriftReportingTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly DriftOptions _options = new() { MinSamples = 4 };

    private static DriftBaseline EvenClasses(string tensor) => new()
    {
        Outputs = [new BaselineDistribution { Tensor = tensor, Statistic = BaselineStatistic.Class, Counts = [1, 1] }],
    };

    private static void ObserveOnlyClassOne(DriftRegistry registry, string model, long version, string tensor)
    {
        for (var i = 0; i < 4; i++)
        {
            registry.Observe(model, version, [], [InferenceTensor.Create(tensor, [1, 2], new float[] { 0.2f, 0.8f })]);
        }
    }

    [Fact]
    public async Task Collect_ServingModelDriftsSignificantly_DriftInHealthDocumentAndTwinFormAndStatusDegraded()
    {
        var registry = new DriftRegistry(Options.Create(_options), _time);
        await using var kit = HealthTestKit.Create(_time, s => s.AddSingleton(registry));
        Assert.True((await kit.ActivateClassifierAsync()).Succeeded);
        registry.Activate(HealthTestKit.Model, 1, EvenClasses(ModelFixtures.ClassifierOutput));
        ObserveOnlyClassOne(registry, HealthTestKit.Model, 1, ModelFixtures.ClassifierOutput);

        var health = kit.Collector.Collect();
        var full = HealthJson.ToNode(health);
        var twin = HealthJson.ToTwin(health);

        var drift = Assert.Single(health.Models).Drift;
        Assert.NotNull(drift);
        Assert.Equal("significant", drift.Level);
        Assert.True(drift.MaxPsi > 0.2, $"max PSI {drift.MaxPsi}");
        var tensor = Assert.Single(drift.Tensors);
        Assert.Equal(($"{ModelFixtures.ClassifierOutput}:class", "output", 4L), (tensor.Key, tensor.Side, tensor.Samples));
        Assert.True(tensor.Ks > 0 && tensor.Js > 0, $"KS {tensor.Ks}, JS {tensor.Js}");
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Equal("significant", full["models"]![0]!["drift"]!["level"]!.GetValue<string>());
        Assert.Single(full["models"]![0]!["drift"]!["tensors"]!.AsArray());
        Assert.Equal("significant", twin["models"]![0]!["drift"]!["level"]!.GetValue<string>());
        Assert.False(twin["models"]![0]!["drift"]!.AsObject().ContainsKey("tensors"));
    }

    [Fact]
    public async Task EvaluateOnce_DriftCrossesThreshold_DriftEventInAgentEventLog()
    {
        var registry = new DriftRegistry(Options.Create(_options), _time);
        using var meters = new TestMeterFactory();
        var events = new AgentEventLog(_time);
        using var service = new DriftEvaluationService(registry, new DriftMetrics(meters, registry), Options.Create(_options), _time,
            NullLogger<DriftEvaluationService>.Instance, events);
        registry.Activate("m", 3, EvenClasses("p"));
        ObserveOnlyClassOne(registry, "m", 3, "p");

        await service.StartAsync(CancellationToken.None);
        service.EvaluateOnce();
        service.EvaluateOnce();
        await service.StopAsync(CancellationToken.None);

        var e = Assert.Single(events.Recent());
        Assert.Equal((AgentEventKinds.Drift, "m", 3L), (e.Kind, e.Model, e.Version));
        Assert.Contains("Unknown → Significant", e.Message, StringComparison.Ordinal);
    }
}
