using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

public sealed class ClientConnectionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Sim _sim = new();

    public Task InitializeAsync() => _sim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task Start_DeviceConnectionStringOverTls_ConnectsWithReferenceUserNameAndFetchesTwin()
    {
        var device = _sim.AddDevice("dev1");
        await _sim.UpdateDesiredAsync(device, new JsonObject { ["threshold"] = 0.8 });
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);

        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var first = await h.NextDesiredAsync();

        Assert.True(first.IsFullDocument);
        Assert.Equal(2, first.Version);
        Assert.Equal(0.8, first.Properties["threshold"]!.GetValue<double>());
        Assert.Equal($"{_sim.HubHostName}/dev1/?api-version=2021-04-12&DeviceClientType=edgeml%2F1.0", device.LastUserName);
        Assert.StartsWith("SharedAccessSignature sr=sim-hub.azure-devices.net%2Fdevices%2Fdev1&sig=", device.LastPassword, StringComparison.Ordinal);
        Assert.Contains("$iothub/methods/POST/#", device.CurrentSubscriptions);
    }
}
