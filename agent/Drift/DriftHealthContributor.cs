using EdgeMl.Agent.Health;

namespace EdgeMl.Agent.Drift;

/// <summary>Each served version's drift against its manifest baseline, overall and per tensor.</summary>
internal sealed class DriftHealthContributor(DriftRegistry drift) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        foreach (var report in drift.EvaluateAll())
        {
            health.Drift[report.Model] = new DriftHealth(
                HealthJsonContext.Name(report.Level),
                Math.Round(report.MaxPopulationStabilityIndex, 4),
                report.Version,
                report.Features.Select(t => new TensorDriftHealth(t.Key, t.Side, t.Samples, Math.Round(t.PopulationStabilityIndex, 4),
                    Math.Round(t.KolmogorovSmirnov, 4), Math.Round(t.JensenShannon, 4), HealthJsonContext.Name(t.Level))).ToArray());
        }
    }

    public IDisposable Watch(Action changed)
    {
        void OnLevelChanged(DriftEvent e) => changed();
        drift.LevelChanged += OnLevelChanged;
        return new Subscription(() => drift.LevelChanged -= OnLevelChanged);
    }
}
