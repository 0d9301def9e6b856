using System.Diagnostics.Metrics;

namespace EdgeMl.CloudSync.Registries;

/// <summary>Instruments of model distribution: bytes downloaded, failed transfers by kind, pulls by outcome.</summary>
public sealed class DistributionMetrics
{
    public const string MeterName = "EdgeMl.Distribution";

    public DistributionMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        DownloadedBytes = meter.CreateCounter<long>("edgeml.distribution.download.bytes", "By", "Model file bytes received from registries");
        DownloadFailures = meter.CreateCounter<long>("edgeml.distribution.download.failures", "{failure}", "File downloads that failed, by failure kind");
        Pulls = meter.CreateCounter<long>("edgeml.distribution.pulls", "{pull}", "Pulls by outcome: activated, refused, already-active, failed");
    }

    /// <summary>Instruments on a meter of their own that no host collects, for a tool that runs without one (the CLI).</summary>
    public static DistributionMetrics Unrecorded { get; } = new(new PrivateMeterFactory());

    public Counter<long> DownloadedBytes { get; }

    public Counter<long> DownloadFailures { get; }

    public Counter<long> Pulls { get; }

    /// <summary>Meters scoped to this factory alone, so a collector listening to a host's factory never sees them.</summary>
    private sealed class PrivateMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options.Name, options.Version, options.Tags, this);

        public void Dispose()
        {
        }
    }
}
