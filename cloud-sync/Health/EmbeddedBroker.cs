using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace EdgeMl.CloudSync.Health;

/// <summary>
/// The default broker when none is configured: MQTTnet's server on loopback only, anonymous, so a field
/// engineer's <c>mosquitto_sub</c> on the device sees the agent's status without any set-up.
/// </summary>
internal sealed class EmbeddedBroker(IOptions<MqttHealthOptions> options, ILogger<EmbeddedBroker> logger) : IHostedService, IDisposable
{
    private MqttServer? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Host is not null)
        {
            return;
        }

        var port = options.Value.EmbeddedPort;
        var serverOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.IPv6Loopback)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions(false)
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(serverOptions);
        await _server.StartAsync();
        Log.EmbeddedBrokerStarted(logger, port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();
}
