using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Drift;

/// <summary>Drift instruments: the latest distances per model and distribution, and level changes.</summary>
internal sealed class DriftMetrics
{
    public const string MeterName = "EdgeMl.Drift";

    public DriftMetrics(IMeterFactory meterFactory, DriftRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(registry);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("edgeml.drift.psi", () => Observe(registry, f => f.PopulationStabilityIndex), description: "Population stability index of the window vs the baseline");
        meter.CreateObservableGauge("edgeml.drift.ks", () => Observe(registry, f => f.KolmogorovSmirnov), description: "Two-sample Kolmogorov–Smirnov statistic");
        meter.CreateObservableGauge("edgeml.drift.js", () => Observe(registry, f => f.JensenShannon), description: "Jensen–Shannon distance (base 2)");
        meter.CreateObservableGauge(
            "edgeml.drift.level",
            () => registry.Monitors.Select(m => new Measurement<int>((int)m.Level, new KeyValuePair<string, object?>("model", m.Model))),
            description: "0 unknown, 1 none, 2 moderate, 3 significant");
        LevelChanges = meter.CreateCounter<long>("edgeml.drift.level_changes", description: "Drift level changes (threshold crossings)");
    }

    public Counter<long> LevelChanges { get; }

    private static IEnumerable<Measurement<double>> Observe(DriftRegistry registry, Func<FeatureDrift, double> value) =>
        registry.Monitors
            .Where(m => m.LastReport is not null)
            .SelectMany(m => m.LastReport!.Features
                .Where(f => f.Level != DriftLevel.Unknown)
                .Select(f => new Measurement<double>(value(f), new KeyValuePair<string, object?>("model", m.Model), new KeyValuePair<string, object?>("feature", f.Key), new KeyValuePair<string, object?>("side", f.Side))));
}
