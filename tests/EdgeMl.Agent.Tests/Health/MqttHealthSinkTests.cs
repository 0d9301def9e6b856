using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Health;
using EdgeMl.Testing;
using EdgeMl.Testing.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet;

namespace EdgeMl.Agent.Tests.Health;

/// <summary>Health and events through the real publisher to a real Mosquitto with TLS and a password.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class MqttHealthSinkTests : IAsyncLifetime
{
    private MosquittoBroker _broker = null!;
    private MqttHealthPublisher _publisher = null!;
    private HealthTestKit _kit = null!;

    public async Task InitializeAsync()
    {
        _broker = await MosquittoBroker.StartAsync();
        _publisher = new MqttHealthPublisher(Options.Create(new MqttHealthOptions
        {
            Host = "127.0.0.1",
            Port = _broker.Port,
            CaCertificateFile = _broker.CaFile,
            Username = MosquittoBroker.User,
            Password = MosquittoBroker.Secret,
            DeviceId = "dev-1",
        }), TimeProvider.System, NullLogger<MqttHealthPublisher>.Instance);
        _kit = HealthTestKit.Create(configure: s => s.AddSingleton<IHealthPublisher>(_publisher));
        await _publisher.StartAsync(CancellationToken.None);
        await _kit.StartReportersAsync();
    }

    public async Task DisposeAsync()
    {
        await _kit.DisposeAsync();
        await _publisher.StopAsync(CancellationToken.None);
        _publisher.Dispose();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task Start_BrokerUp_HealthRetainedForALaterSubscriberWithBrokerConnected()
    {
        await Eventually.UntilAsync(() => _publisher.Link.Connected, "the broker connection");
        // A change after the link is up: the next document says the broker is connected.
        _kit.Events.Add(AgentEventKinds.Started, null, null, "agent started");

        await using (var live = await Subscriber.ConnectAsync(_broker, "edgeml/dev-1/health"))
        {
            await live.WaitForAsync(m => Connected(m.Payload));
        }

        await using var later = await Subscriber.ConnectAsync(_broker, "edgeml/dev-1/health");
        var health = await later.WaitForAsync(m => Connected(m.Payload));

        Assert.True(health.Retained);
        var document = JsonNode.Parse(health.Payload)!;
        Assert.Equal("dev-1", document["deviceId"]!.GetValue<string>());
        Assert.NotNull(document["accelerators"]!["cuda"]);
        Assert.Equal($"127.0.0.1:{_broker.Port}", document["broker"]!["broker"]!.GetValue<string>());
    }

    [Fact]
    public async Task Event_Added_PublishedOnTheEventsTopicAsJson()
    {
        await using var subscriber = await Subscriber.ConnectAsync(_broker, "edgeml/dev-1/events");

        _kit.Events.Add(AgentEventKinds.Degraded, "ocr-cls", 2, "ocr-cls v2: cuda unavailable; running on cpu");

        var message = await subscriber.WaitForAsync(m => m.Payload.Contains("degraded", StringComparison.Ordinal));
        var e = JsonNode.Parse(message.Payload)!.AsObject();
        Assert.Equal(["at", "kind", "model", "version", "message"], e.Select(p => p.Key));
        Assert.Equal(("degraded", "ocr-cls", 2L), (e["kind"]!.GetValue<string>(), e["model"]!.GetValue<string>(), e["version"]!.GetValue<long>()));
        Assert.False(message.Retained);
    }

    private static bool Connected(string payload) => JsonNode.Parse(payload)!["broker"]!["connected"]!.GetValue<bool>();

    /// <summary>A local tool subscribed to one topic, as <c>mosquitto_sub</c> would be.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly ConcurrentQueue<(string Payload, bool Retained)> _messages = new();

        public static async Task<Subscriber> ConnectAsync(MosquittoBroker broker, string topic)
        {
            var subscriber = new Subscriber();
            subscriber._client.ApplicationMessageReceivedAsync += e =>
            {
                subscriber._messages.Enqueue((Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
                return Task.CompletedTask;
            };
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(broker.CaFile);
            await subscriber._client.ConnectAsync(new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", broker.Port)
                .WithCredentials(MosquittoBroker.User, MosquittoBroker.Secret)
                .WithTlsOptions(t => t.UseTls(true).WithTargetHost("127.0.0.1").WithTrustChain(roots))
                .Build());
            await subscriber._client.SubscribeAsync(topic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
            return subscriber;
        }

        public async Task<(string Payload, bool Retained)> WaitForAsync(Func<(string Payload, bool Retained), bool> match)
        {
            await Eventually.UntilAsync(() => _messages.Any(match), "a matching MQTT message");
            return _messages.First(match);
        }

        public async ValueTask DisposeAsync()
        {
            await _client.DisconnectAsync();
            _client.Dispose();
        }
    }
}
