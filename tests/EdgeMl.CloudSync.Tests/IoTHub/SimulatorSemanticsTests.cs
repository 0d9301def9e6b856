using System.Text;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

/// <summary>The simulator's IoT Hub semantics, driven with a bare MQTTnet client, and queueing across an outage.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class SimulatorSemanticsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Sim _sim = new();

    public Task InitializeAsync() => _sim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private async Task<(IMqttClient Client, TaskCompletionSource<MqttClientDisconnectedEventArgs> Disconnected, MqttClientConnectResult Result)> ConnectRawAsync(
        SimulatedIdentity identity, string? userName = null, MqttProtocolVersion version = MqttProtocolVersion.V311, DateTimeOffset? expires = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += e =>
        {
            disconnected.TrySetResult(e);
            return Task.CompletedTask;
        };
        var resource = SasToken.ResourceUri(_sim.HubHostName, identity.DeviceId, identity.ModuleId);
        var token = SasToken.Create(resource, identity.PrimaryKey!, (expires ?? DateTimeOffset.UtcNow.AddHours(1)).ToUnixTimeSeconds());
        var options = new MqttClientOptionsBuilder()
            .WithProtocolVersion(version)
            .WithClientId(identity.Key)
            .WithCredentials(userName ?? $"{_sim.HubHostName}/{identity.Key}/?api-version=2020-09-30", token)
            .WithTcpServer("127.0.0.1", _sim.Port)
            .WithTlsOptions(t => t.UseTls(true).WithTargetHost("localhost")
                .WithTrustChain([_sim.Certificates.CertificateAuthority])
                .WithCertificateValidationHandler(e => IoTHubClient.ValidateServerCertificate(e, [_sim.Certificates.CertificateAuthority])))
            .Build();
        var result = await client.ConnectAsync(options, CancellationToken.None);
        return (client, disconnected, result);
    }

    [Theory]
    [InlineData("{0}/{1}/?api-version=2021-04-12&DeviceClientType=x")]
    [InlineData("{0}/{1}/api-version=2020-09-30")]
    [InlineData("other-host/{1}/?api-version=2018-06-30&model-id=dtmi%3Ax%3B1")]
    public async Task Connect_UserNameForms_AcceptedLikeEdgeHub(string format)
    {
        var device = _sim.AddDevice("dev1");
        var (client, _, _) = await ConnectRawAsync(device, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, _sim.HubHostName, device.Key));

        Assert.True(client.IsConnected);
        Assert.Null(device.LastRefusal);
        client.Dispose();
    }

    [Fact]
    public async Task Connect_UserNameWithoutApiVersion_Refused()
    {
        var device = _sim.AddDevice("dev1");

        var (client, _, result) = await ConnectRawAsync(device, $"{_sim.HubHostName}/dev1/?DeviceClientType=x");

        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, result.ResultCode);
        client.Dispose();
        Assert.Contains("api-version", device.LastRefusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_Mqtt5_Refused()
    {
        var device = _sim.AddDevice("dev1");

        var (client, _, result) = await ConnectRawAsync(device, version: MqttProtocolVersion.V500);

        Assert.Equal(MqttClientConnectResultCode.UnsupportedProtocolVersion, result.ResultCode);
        client.Dispose();
        Assert.Contains("3.1.1", device.LastRefusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_SecondConnectionForSameIdentity_DropsTheFirst()
    {
        var device = _sim.AddDevice("dev1");
        var (first, firstDropped, _) = await ConnectRawAsync(device);
        var (second, _, _) = await ConnectRawAsync(device);

        await firstDropped.Task.WaitAsync(IoTHubTestHarness.Guard);
        await _sim.WaitForConnectionsAsync(device, 2, IoTHubTestHarness.Guard);

        Assert.False(first.IsConnected);
        Assert.True(second.IsConnected);
        Assert.True(device.IsConnected);
        first.Dispose();
        second.Dispose();
    }

    [Fact]
    public async Task Publish_QoS2_ConnectionClosed()
    {
        var device = _sim.AddDevice("dev1");
        var (client, dropped, _) = await ConnectRawAsync(device);
        var message = new MqttApplicationMessageBuilder().WithTopic("devices/dev1/messages/events/").WithPayload("x")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.ExactlyOnce).Build();

        try
        {
            await client.PublishAsync(message, CancellationToken.None);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // Either the publish fails or the connection closes right after: both are the hub's answer.
        }

        await dropped.Task.WaitAsync(IoTHubTestHarness.Guard);
        Assert.Equal(1, _sim.QoS2Refusals);
        Assert.Empty(_sim.Messages);
        client.Dispose();
    }

    [Fact]
    public async Task Subscribe_QoS2_GrantedQoS1AndUnknownFilterRefused()
    {
        var device = _sim.AddDevice("dev1");
        var (client, _, _) = await ConnectRawAsync(device);

        var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("$iothub/methods/POST/#", MqttQualityOfServiceLevel.ExactlyOnce)
            .WithTopicFilter("devices/other/messages/devicebound/#")
            .Build(), CancellationToken.None);

        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, result.Items.First().ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.UnspecifiedError, result.Items.Last().ResultCode);
        client.Dispose();
    }

    [Theory]
    [InlineData("devices/dev1/messages/events/$.ct=application%2Fjson&$.ce=utf-8&k=v")]
    [InlineData("devices/dev1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&k=v/")]
    public async Task Telemetry_PropertyBagSpellings_CapturedAlike(string topic)
    {
        var device = _sim.AddDevice("dev1");
        var (client, _, _) = await ConnectRawAsync(device);

        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("{}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), CancellationToken.None);
        await _sim.WaitForMessagesAsync(device, 1, IoTHubTestHarness.Guard);

        var captured = _sim.Messages.Single();
        Assert.Equal("application/json", captured.SystemProperties["$.ct"]);
        Assert.Equal("v", captured.ApplicationProperties["k"]);
        client.Dispose();
    }

    [Fact]
    public async Task Telemetry_QueuedDuringOutage_BoundedWithDropsCountedAndRestDeliveredInOrder()
    {
        var device = _sim.AddDevice("dev1");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output, o => o.TelemetryQueueCapacity = 3);
        using var dropped = new MetricCollector<long>(h.Meters, IoTHubMetrics.MeterName, "edgeml.iothub.telemetry.dropped");
        await h.StartAsync();
        await h.WaitForConnectedAsync();

        await _sim.StopAsync();
        var down = await h.WaitForStateAsync(s => s.State == IoTHubConnectionState.Disconnected);
        var sends = Enumerable.Range(1, 6)
            .Select(i => h.Client.SendEventAsync(new IoTHubMessage(Encoding.UTF8.GetBytes($"m{i}")) { MessageId = $"{i}" }, CancellationToken.None))
            .ToList();
        await _sim.StartAsync();
        h.Time.Advance(down.RetryIn!.Value);
        await h.AdvanceUntilConnectedAsync();
        var results = await Task.WhenAll(sends).WaitAsync(IoTHubTestHarness.Guard);

        var droppedCount = results.Count(r => r.Error == IoTHubError.Dropped);
        var delivered = _sim.Messages.Select(m => m.BodyText).ToList();
        Assert.InRange(droppedCount, 2, 3);
        Assert.Equal(droppedCount, h.Client.DroppedMessageCount);
        Assert.Equal(droppedCount, dropped.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(6 - droppedCount, delivered.Count);
        Assert.Equal(["m4", "m5", "m6"], delivered.TakeLast(3));
        Assert.All(results.Where(r => r.Error != IoTHubError.Dropped), r => Assert.True(r.Succeeded, r.Message));
    }

    [Fact]
    public async Task Connection_TokenExpires_HubClosesIt()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        _sim.Time = time;
        var device = _sim.AddDevice("dev1");
        var (client, dropped, _) = await ConnectRawAsync(device, expires: time.GetUtcNow().AddSeconds(60));

        // The hub arms its expiry timer when it sees the connection, which may come after CONNACK: a fake clock
        // advanced before then would leave the timer to be created already due, with nothing to advance it.
        await _sim.WaitForAsync(() => device.IsConnected, IoTHubTestHarness.Guard, "the hub's side of the connection");
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(client.IsConnected);
        time.Advance(TimeSpan.FromSeconds(2));
        await dropped.Task.WaitAsync(IoTHubTestHarness.Guard);

        Assert.Equal(1, device.ExpiredDrops);
        client.Dispose();
    }
}
