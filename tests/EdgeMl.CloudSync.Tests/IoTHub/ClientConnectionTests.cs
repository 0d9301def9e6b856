using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

[Trait(TestCategory.Key, TestCategory.Server)]
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
        // The reference's CONNECT fields: client id = device id (the simulator looks the identity up by it),
        // keep-alive 180 s as the Node SDK, CleanSession 0 as both SDKs.
        Assert.Equal(TimeSpan.FromSeconds(180), device.LastKeepAlive);
        Assert.False(device.LastCleanSession);
    }

    [Fact]
    public async Task SendEvent_DeviceWithSystemAndApplicationProperties_EncodedInTheDeviceTelemetryTopic()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);
        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var message = new IoTHubMessage(System.Text.Encoding.UTF8.GetBytes("""{"t":21.5}"""))
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = "m-1",
            CorrelationId = "c-1",
            Properties = { ["alert"] = "high", ["room"] = "lab 2/b" },
        };

        var result = await h.Client.SendEventAsync(message, CancellationToken.None);
        await _sim.WaitForMessagesAsync(device, 1, IoTHubTestHarness.Guard);
        var captured = _sim.Messages.Single();

        Assert.True(result.Succeeded, result.Message);
        Assert.StartsWith("devices/dev1/messages/events/%24.", captured.Topic, StringComparison.Ordinal);
        Assert.Contains("%24.ct=application%2Fjson", captured.Topic, StringComparison.Ordinal);
        Assert.Null(captured.OutputName);
        Assert.Equal("application/json", captured.SystemProperties["$.ct"]);
        Assert.Equal("utf-8", captured.SystemProperties["$.ce"]);
        Assert.Equal("m-1", captured.SystemProperties["$.mid"]);
        Assert.Equal("c-1", captured.SystemProperties["$.cid"]);
        Assert.Equal("high", captured.ApplicationProperties["alert"]);
        Assert.Equal("lab 2/b", captured.ApplicationProperties["room"]);
        Assert.Equal("""{"t":21.5}""", captured.BodyText);
    }

    [Fact]
    public async Task Start_WrongKey_ReportsAuthenticationErrorAndBacksOffInsteadOfHammering()
    {
        var device = _sim.AddDevice("dev1");
        var wrong = _sim.ConnectionString(device).Replace(device.PrimaryKey!, Sim.NewKey(), StringComparison.Ordinal);
        await using var h = IoTHubTestHarness.Create(_sim, wrong, output);

        await h.StartAsync();
        var refused = await h.WaitForStateAsync(s => s.IsAuthenticationFailure);

        Assert.Equal(IoTHubConnectionState.Disconnected, refused.State);
        Assert.Contains("refused our credentials", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("signature does not match", device.LastRefusal, StringComparison.Ordinal);
        Assert.True(refused.RetryIn >= TimeSpan.FromSeconds(30), $"retry in {refused.RetryIn}");
        Assert.Equal(1, device.ConnectAttempts);

        h.Time.Advance(refused.RetryIn!.Value);
        var second = await h.WaitForStateAsync(s => s.IsAuthenticationFailure);

        Assert.Equal(2, device.ConnectAttempts);
        Assert.True(second.RetryIn > refused.RetryIn, $"{second.RetryIn} after {refused.RetryIn}");
    }

    [Fact]
    public async Task Start_ExpiredToken_RefusedAsAuthenticationFailure()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);
        // The hub's clock is two hours ahead of ours: our one-hour token is already expired there.
        _sim.Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(h.Time.GetUtcNow().AddHours(2));

        await h.StartAsync();
        var refused = await h.WaitForStateAsync(s => s.IsAuthenticationFailure);

        Assert.Contains("expired", device.LastRefusal, StringComparison.Ordinal);
        Assert.Equal(IoTHubConnectionState.Disconnected, h.Client.State);
        Assert.NotNull(refused.Reason);
    }

    [Fact]
    public async Task Connected_TokenNearsExpiry_ReconnectsWithFreshTokenOnFakeClock()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output,
            o => o.SasTokenTimeToLive = TimeSpan.FromMinutes(2));
        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var firstToken = device.LastPassword;

        // 15 % of 120 s is 18 s: renewal is due at 102 s.
        h.Time.Advance(TimeSpan.FromSeconds(101));
        Assert.Equal(1, device.Connections);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        await _sim.WaitForConnectionsAsync(device, 2, IoTHubTestHarness.Guard);
        await h.WaitForStateAsync(s => s.State == IoTHubConnectionState.Connected);

        // Past the first token's expiry: the hub (which drops expired connections) has nothing to drop.
        h.Time.Advance(TimeSpan.FromSeconds(20));

        Assert.NotEqual(firstToken, device.LastPassword);
        Assert.Null(device.LastRefusal);
        Assert.Equal(0, device.ExpiredDrops);
        Assert.Equal(2, device.Connections);
        Assert.Equal(IoTHubConnectionState.Connected, h.Client.State);
    }

    [Fact]
    public async Task Reconnect_SimulatorRestartsWithDesiredChangeMadeWhileAway_RaisesFullDesired()
    {
        var device = _sim.AddDevice("dev1");
        await _sim.UpdateDesiredAsync(device, new JsonObject { ["threshold"] = 0.8 });
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);
        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var initial = await h.NextDesiredAsync();

        await _sim.StopAsync();
        var down = await h.WaitForStateAsync(s => s.State == IoTHubConnectionState.Disconnected);
        var version = await _sim.UpdateDesiredAsync(device, new JsonObject { ["threshold"] = 0.6, ["batch"] = 4 });
        await _sim.StartAsync();
        h.Time.Advance(down.RetryIn!.Value);
        await h.AdvanceUntilConnectedAsync();
        var update = await h.NextDesiredAsync();

        Assert.Equal(initial.Version + 1, version);
        Assert.True(update.IsFullDocument);
        Assert.Equal(version, update.Version);
        Assert.Equal(0.6, update.Properties["threshold"]!.GetValue<double>());
        Assert.Equal(4, update.Properties["batch"]!.GetValue<int>());
        Assert.Contains("$iothub/twin/PATCH/properties/desired/#", device.CurrentSubscriptions);
        Assert.Contains("$iothub/methods/POST/#", device.CurrentSubscriptions);
    }

    [Fact]
    public async Task Reconnect_SimulatorRestartsWithoutDesiredChange_RaisesNothingAndStillReceivesPatches()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);
        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var initial = await h.NextDesiredAsync();

        await _sim.StopAsync();
        await _sim.StartAsync();
        await h.AdvanceUntilConnectedAsync();
        await _sim.WaitForAsync(() => device.CurrentSubscriptions.Count >= 3, IoTHubTestHarness.Guard, "resubscription");
        var version = await _sim.UpdateDesiredAsync(device, new JsonObject { ["after"] = true });
        var next = await h.NextDesiredAsync();

        Assert.False(next.IsFullDocument);
        Assert.Equal(initial.Version + 1, next.Version);
        Assert.Equal(version, next.Version);
    }

    [Fact]
    public async Task Start_WebSocketsTransport_ConnectsThroughIotHubWebSocketPath()
    {
        var device = _sim.AddDevice("dev1");
        var wsPort = await _sim.StartWebSocketsAsync();
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device, $"localhost:{wsPort}"), output,
            o => o.Transport = IoTHubTransport.MqttWebSockets);

        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var patch = await h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["via"] = "wss" }, CancellationToken.None);

        Assert.True(patch.Succeeded, patch.Message);
        Assert.Equal("wss", device.Twin.Reported["via"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reconnect_ConnectionDropsRightAfterConnecting_BacksOffInsteadOfLooping()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);
        await h.StartAsync();
        await h.WaitForConnectedAsync();

        // Another instance takes the identity over: our connection drops at once, every time.
        await _sim.StopAsync();
        var first = await h.WaitForStateAsync(s => s.Reason == "connection lost");

        Assert.True(first.RetryIn > TimeSpan.Zero, $"retry in {first.RetryIn}");
    }

    [Fact]
    public async Task Connect_TwinFetchAnswersError_RetriesUntilTheTwinIsRead()
    {
        var device = _sim.AddDevice("dev1");
        _sim.TwinBehavior = EdgeMl.IoTHubSimulator.TwinRequestBehavior.ServerError;
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output);

        await h.StartAsync();
        var failed = await h.WaitForStateAsync(s => s.RetryIn > TimeSpan.Zero);
        _sim.TwinBehavior = EdgeMl.IoTHubSimulator.TwinRequestBehavior.Normal;
        h.Time.Advance(failed.RetryIn!.Value);
        await h.AdvanceUntilConnectedAsync();
        var desired = await h.NextDesiredAsync();

        Assert.Contains("twin re-fetch after connect failed", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("500001", failed.Reason, StringComparison.Ordinal);
        Assert.True(desired.IsFullDocument);
    }
}
