using EdgeMl.Agent.Health;

namespace EdgeMl.Agent.Serving;

/// <summary>Whether the server should be sent traffic, and why not.</summary>
internal sealed class ReadinessHealthContributor(ServingReadiness readiness) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        var ready = readiness.Server();
        health.Ready = new ReadyHealth(ready.IsReady, ready.Reason);
    }

    public IDisposable Watch(Action changed)
    {
        void OnChanged(object? sender, EventArgs e) => changed();
        readiness.Changed += OnChanged;
        return new Subscription(() => readiness.Changed -= OnChanged);
    }
}
