using EdgeMl.Agent.Health;

namespace EdgeMl.Agent.Sync;

/// <summary>Model sync: the registry, its last error and reconcile, each desired model's phase; a refused version per model.</summary>
internal sealed class SyncHealthContributor(ModelSyncStatus sync) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        var models = sync.Models;
        health.Sync = new SyncHealth(sync.Registry, sync.RegistryError, sync.LastReconcileAt,
            models.Select(m => new ModelSyncHealth(m.Model, m.Desired, HealthJsonContext.Name(m.Phase), m.ActiveVersion, m.TargetVersion, m.Progress, m.Message)).ToArray());
        foreach (var model in models)
        {
            if (model.Phase == SyncPhase.Refused && model.Message is { } message)
            {
                health.Refused[model.Model] = message;
            }
        }
    }

    public IDisposable Watch(Action changed)
    {
        void OnChanged(object? sender, EventArgs e) => changed();
        sync.Changed += OnChanged;
        return new Subscription(() => sync.Changed -= OnChanged);
    }
}
