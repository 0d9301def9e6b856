using System.Net;
using System.Net.Sockets;
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

        // EdgeMl:Mqtt:Port moves the embedded broker too: the agent's own client connects there.
        var port = options.Value.EffectivePort;
        var serverOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.IPv6Loopback)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions(false)
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(serverOptions);
        try
        {
            await _server.StartAsync();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // Commonly a local Mosquitto on 1883: a start failure (exit 6) that says what to change, not a stack trace.
            throw new IOException(
                $"the embedded MQTT broker cannot listen on 127.0.0.1:{port}: the port is in use (a local Mosquitto?). "
                + $"Set {MqttHealthOptions.Section}:Port to a free port, or {MqttHealthOptions.Section}:Host (with Tls=false for a plain local broker) to publish to that broker instead.",
                e);
        }

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
