using EdgeMl.Runtime.Serving;

namespace EdgeMl.Agent.Health;

/// <summary>The engine's models: state, version, provider chain, failures, and the request counts and latency of each.</summary>
internal sealed class EngineHealthContributor(InferenceEngine engine, RequestStatistics requests) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        foreach (var status in engine.GetStatuses())
        {
            health.Models.Add(Model(status));
        }
    }

    public IDisposable Watch(Action changed)
    {
        void OnActivated(object? sender, ActivationResult e) => changed();
        engine.Activated += OnActivated;
        return new Subscription(() => engine.Activated -= OnActivated);
    }

    private ModelHealth Model(ModelStatus status)
    {
        var (count, errors, latency) = requests.Of(status.Name);
        var providers = status.Providers;
        var degraded = providers?.IsDegraded == true;
        return new ModelHealth(
            status.Name,
            HealthJsonContext.Name(status.State),
            status.Version,
            providers?.Effective,
            providers?.Requested ?? [],
            providers?.Chain.Select(c => new ProviderHealth(c.Provider, HealthJsonContext.Name(c.State), c.Reason)).ToArray() ?? [],
            degraded,
            degraded ? providers!.DegradedReason : null,
            status.Building,
            status.Batching is { } b
                ? new BatchingHealth(b.Mode == BatchingMode.Batched ? "batched" : "unbatched", b.Reason, Rounded(b.UnbatchedRate), Rounded(b.BatchedRate))
                : null,
            latency,
            count,
            errors,
            status.LastFailure is { } f ? new FailureHealth(f.Version, HealthJsonContext.Name(f.Stage), f.Reason, f.At) : null,
            Drift: null);
    }

    private static double? Rounded(double? rate) => rate is { } r ? Math.Round(r, 1) : null;
}

/// <summary>The data disk's free and total bytes.</summary>
internal sealed class DiskHealthContributor(Microsoft.Extensions.Options.IOptions<AgentOptions> options) : IHealthContributor
{
    public void Contribute(HealthDocument health) => health.Disk = Disk(options.Value.DataPath());

    internal static DiskHealth Disk(string path)
    {
        // The data folder may not exist yet on a fresh device; its nearest existing parent is on the same disk.
        var existing = new DirectoryInfo(path);
        while (existing is { Exists: false, Parent: not null })
        {
            existing = existing.Parent;
        }

        try
        {
            var drive = new DriveInfo(existing.FullName);
            return new DiskHealth(path, drive.AvailableFreeSpace, drive.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Health must not fail because the disk cannot be asked; it reports the sizes as unknown.
            return new DiskHealth(path, null, null);
        }
    }
}

/// <summary>The MQTT broker link.</summary>
internal sealed class BrokerHealthContributor(EdgeMl.CloudSync.Health.IHealthPublisher publisher) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        var link = publisher.Link;
        health.Broker = new BrokerHealth(true, link.Connected, link.Broker, link.Connected ? null : link.LastError, link.DroppedEvents);
    }
}
