using EdgeMl.Agent.Health;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>The capture queue, the store's records and bytes against its quota, and what was dropped and why.</summary>
internal sealed class CaptureHealthContributor(CaptureMetrics capture, CaptureChannel channel, IOptions<CaptureSettings> settings) : IHealthContributor
{
    public void Contribute(HealthDocument health)
    {
        var queued = channel.Reader.CanCount ? channel.Reader.Count : 0;
        health.Capture = new CaptureHealth(queued, capture.StoreRecords, capture.StoreBytes, settings.Value.Store.QuotaBytes, capture.DroppedByReason());
    }
}
