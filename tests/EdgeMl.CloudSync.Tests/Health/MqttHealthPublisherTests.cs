using System.Text;
using EdgeMl.CloudSync.Health;
using EdgeMl.Testing;
using EdgeMl.Testing.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.CloudSync.Tests.Health;

/// <summary>The health publisher against a real Mosquitto with TLS and a password.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class MqttHealthPublisherTests : IAsyncLifetime
{
    private MosquittoBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await MosquittoBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task Connect_TlsWithPassword_PublishesOnlineAndHealthRetained()
    {
        using var publisher = Publisher();
        publisher.PublishHealth("""{"models":[]}"""u8.ToArray());
        await publisher.StartAsync(CancellationToken.None);

        await using (var live = await Subscribe())
        {
            await live.WaitForAsync("edgeml/dev-1/health", p => p.Contains("models", StringComparison.Ordinal));
        }

        // A tool that subscribes later still finds both, retained.
        await using var later = await Subscribe();
        var status = await later.WaitForAsync("edgeml/dev-1/status", p => p == "online");
        var health = await later.WaitForAsync("edgeml/dev-1/health", p => p.Contains("models", StringComparison.Ordinal));

        Assert.True(status.Retained && health.Retained);
        Assert.True(publisher.Link.Connected);
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Abort_ConnectionDropsWithoutDisconnect_BrokerPublishesOfflineWill()
    {
        using var publisher = Publisher();
        await publisher.StartAsync(CancellationToken.None);
        await using var subscriber = await Subscribe();
        await subscriber.WaitForAsync("edgeml/dev-1/status", p => p == "online");

        publisher.Abort();

        await subscriber.WaitForAsync("edgeml/dev-1/status", p => p == "offline");
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stop_Clean_PublishesOfflineRetained()
    {
        using var publisher = Publisher();
        await publisher.StartAsync(CancellationToken.None);
        await using (var subscriber = await Subscribe())
        {
            await subscriber.WaitForAsync("edgeml/dev-1/status", p => p == "online");
        }

        await publisher.StopAsync(CancellationToken.None);

        await using var later = await Subscribe();
        var status = await later.WaitForAsync("edgeml/dev-1/status", _ => true);
        Assert.Equal(("offline", true), (status.Payload, status.Retained));
    }

    [Fact]
    public async Task Outage_EventsDuringIt_ArriveAfterTheBrokerReturns()
    {
        // The publisher's back-off runs on a fake clock, so it reconnects only once the subscriber listens.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var publisher = Publisher(time: time);
        await publisher.StartAsync(CancellationToken.None);
        await using (var first = await Subscribe())
        {
            await first.WaitForAsync("edgeml/dev-1/status", p => p == "online");
        }

        await _broker.StopAsync();
        publisher.PublishEvent("""{"event":"rollback","model":"ocr-cls"}"""u8.ToArray());
        await _broker.StartAgainAsync();
        await using var subscriber = await Subscribe();
        var advancing = Task.Run(async () =>
        {
            while (!publisher.Link.Connected || subscriber.Messages.IsEmpty)
            {
                time.Advance(TimeSpan.FromMilliseconds(200));
                await Task.Delay(20);
            }
        });

        await subscriber.WaitForAsync("edgeml/dev-1/events", p => p.Contains("rollback", StringComparison.Ordinal));
        await subscriber.WaitForAsync("edgeml/dev-1/status", p => p == "online");
        await advancing;
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Connect_WrongPassword_ReportsTheRefusalAndKeepsTrying()
    {
        using var publisher = Publisher(o => o.Password = "wrong");
        await publisher.StartAsync(CancellationToken.None);

        await Eventually.UntilAsync(() => publisher.Link.LastError is not null, "the broker's refusal");

        Assert.False(publisher.Link.Connected);
        Assert.Contains("NotAuthorized", publisher.Link.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.False(publisher.ExecuteTask!.IsCompleted);
        Assert.True(publisher.PublishEvent("{}"u8.ToArray()));
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task EventQueue_FullWhileAway_DropsOldestAndCounts()
    {
        await _broker.StopAsync();
        using var publisher = Publisher(o => o.MaxQueuedEvents = 2);

        Assert.True(publisher.PublishEvent("1"u8.ToArray()));
        Assert.True(publisher.PublishEvent("2"u8.ToArray()));
        Assert.False(publisher.PublishEvent("3"u8.ToArray()));
        Assert.Equal(1, publisher.Link.DroppedEvents);
    }

    [Fact]
    public async Task AddMqttHealth_NoBrokerConfigured_EmbeddedBrokerServesStatus()
    {
        var port = Port();
        using var host = new HostBuilder()
            .ConfigureServices(s => s.AddLogging().AddMqttHealth(o =>
            {
                o.DeviceId = "dev-2";
                o.EmbeddedPort = port;
            }))
            .Build();
        await host.StartAsync();

        await using var subscriber = await MqttSubscriber.ConnectAsync(port, "edgeml/#");

        await subscriber.WaitForAsync("edgeml/dev-2/status", p => p == "online");
        Assert.True(host.Services.GetRequiredService<IHealthPublisher>().Link.Connected);

        await host.StopAsync();
    }

    [Fact]
    public void Options_CertificateWithoutKey_FailsValidation()
    {
        var result = new MqttHealthOptionsRules().Validate(null, new MqttHealthOptions { Host = "broker", ClientCertificateFile = _broker.CaFile });

        Assert.Contains("ClientCertificateFile and ClientKeyFile go together.", result.Failures!);
    }

    private MqttHealthPublisher Publisher(Action<MqttHealthOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new MqttHealthOptions
        {
            Host = "127.0.0.1",
            Port = _broker.Port,
            CaCertificateFile = _broker.CaFile,
            Username = MosquittoBroker.User,
            Password = MosquittoBroker.Secret,
            DeviceId = "dev-1",
            ReconnectDelayMin = TimeSpan.FromMilliseconds(50),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new MqttHealthPublisher(Options.Create(options), time ?? TimeProvider.System, NullLogger<MqttHealthPublisher>.Instance);
    }

    private Task<MqttSubscriber> Subscribe() =>
        MqttSubscriber.ConnectAsync(_broker.Port, "edgeml/#", _broker.CaFile, MosquittoBroker.User, MosquittoBroker.Secret);

    private static int Port()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
