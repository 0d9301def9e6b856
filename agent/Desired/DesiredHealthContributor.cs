using EdgeMl.Agent.Health;

namespace EdgeMl.Agent.Desired;

/// <summary>Where the desired state in effect came from: the twin, the last run (persisted) or configuration.</summary>
internal sealed class DesiredHealthContributor(DesiredStateSource desired) : IHealthContributor
{
    public void Contribute(HealthDocument health) => health.Desired = HealthJsonContext.Name(desired.Current.Origin);
}
