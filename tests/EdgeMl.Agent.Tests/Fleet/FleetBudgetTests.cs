using EdgeMl.Agent.Desired;
using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.Agent.Tests.Fleet;

/// <summary>
/// The defaults are sized so 10,000 devices stay within one S1 IoT Hub unit's documented throttles (docs/benchmarks.md,
/// "Fleet rollout", cites them): twin updates 50/s, device-to-cloud sends 100/s, new connections 100/s.
/// </summary>
public sealed class FleetBudgetTests
{
    private const int Fleet = 10_000;

    [Fact]
    public void Defaults_TenThousandDevices_HealthPatchesWithinTheTwinUpdateThrottleEvenWhenEveryHealthFlaps()
    {
        // The interval is the floor between two health patches: the worst case is every device patching at that floor.
        Assert.True(Fleet / DesiredState.Empty.HealthReportInterval.TotalSeconds <= 50,
            $"{Fleet / DesiredState.Empty.HealthReportInterval.TotalSeconds:F0} twin updates/s");
    }

    [Fact]
    public void Defaults_TenThousandDevices_HealthTelemetryWithinHalfTheDeviceToCloudThrottle()
    {
        // Half: the device's other modules share the hub's device-to-cloud throttle with EdgeMl.
        Assert.True(Fleet / DesiredState.Empty.TelemetryInterval.TotalSeconds <= 50,
            $"{Fleet / DesiredState.Empty.TelemetryInterval.TotalSeconds:F0} device-to-cloud sends/s");
    }

    [Fact]
    public void Defaults_TenThousandDevicesReconnectingAfterAnOutage_WithinTheNewConnectionThrottle()
    {
        // After any outage, short or long, every device's waits are drawn uniformly over at least the spread, so the
        // fleet retries at devices / (mean wait) a second (BackOffTests simulates it).
        var spread = new IoTHubClientOptions().ReconnectSpread;
        Assert.True(Fleet / (spread.TotalSeconds / 2) <= 100, $"{Fleet / (spread.TotalSeconds / 2):F0} new connections/s");
    }
}
