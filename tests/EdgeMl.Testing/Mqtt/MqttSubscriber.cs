using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MQTTnet;

namespace EdgeMl.Testing.Mqtt;

/// <summary>A local tool subscribed to the agent's topics, as a field engineer's mosquitto_sub would be.</summary>
public sealed class MqttSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private string _filter = "#";

    public ConcurrentQueue<(string Topic, string Payload, bool Retained)> Messages { get; } = new();

    public static async Task<MqttSubscriber> ConnectAsync(int port, string topicFilter, string? caFile = null, string? user = null, string? password = null)
    {
        var subscriber = new MqttSubscriber();
        subscriber._client.ApplicationMessageReceivedAsync += e =>
        {
            subscriber.Messages.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"subscriber-{Guid.NewGuid():N}");
        if (user is not null)
        {
            options.WithCredentials(user, password);
        }

        if (caFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            options.WithTlsOptions(t => t.UseTls(true).WithTargetHost("127.0.0.1").WithTrustChain(roots));
        }

        await subscriber._client.ConnectAsync(options.Build());
        subscriber._filter = topicFilter;
        await subscriber._client.SubscribeAsync(topicFilter, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        return subscriber;
    }

    /// <summary>Waits for a message on <paramref name="topic"/> with <paramref name="payload"/>; the timeout only guards a hang.</summary>
    public async Task<(string Topic, string Payload, bool Retained)> WaitForAsync(string topic, Func<string, bool> payload)
    {
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var resubscribe = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (DateTime.UtcNow < guard)
        {
            if (DateTime.UtcNow > resubscribe && _client.IsConnected)
            {
                // A subscription made at the instant a retained message is stored can miss it; subscribing
                // again delivers whatever is retained now.
                await _client.SubscribeAsync(_filter, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
                resubscribe = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            }

            foreach (var m in Messages)
            {
                if (m.Topic == topic && payload(m.Payload))
                {
                    return m;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no message on {topic} matched; got: {string.Join(" | ", Messages.Select(m => $"{m.Topic}={m.Payload}"))}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // The broker already dropped this tool's connection; nothing to say goodbye to.
        }

        _client.Dispose();
    }
}
