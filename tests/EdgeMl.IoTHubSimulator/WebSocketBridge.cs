using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace EdgeMl.IoTHubSimulator;

/// <summary>
/// MQTT over secure WebSockets: <c>wss://host:port/$iothub/websocket</c> with subprotocol <c>mqtt</c>, each
/// WebSocket piped to the simulator's MQTT/TLS endpoint so both transports share one hub.
/// </summary>
internal sealed class WebSocketBridge : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebSocketBridge(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<WebSocketBridge> StartAsync(IoTHubSimulator simulator)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http1;
            l.UseHttps(simulator.Certificates.ServerCertificate);
        }));
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/$iothub/websocket", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest || !context.WebSockets.WebSocketRequestedProtocols.Contains("mqtt"))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync("mqtt");
            await PipeAsync(socket, simulator, context.RequestAborted);
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new WebSocketBridge(app, port);
    }

    private static async Task PipeAsync(WebSocket socket, IoTHubSimulator simulator, CancellationToken aborted)
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, simulator.Port, aborted);
        }
        catch (SocketException)
        {
            await socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "hub unavailable", CancellationToken.None);
            return;
        }

        await using var tls = new SslStream(tcp.GetStream(), false, (_, cert, _, _) => cert is not null && cert.GetCertHashString() == simulator.Certificates.ServerCertificate.GetCertHashString());
        await tls.AuthenticateAsClientAsync("localhost");
        using var done = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var up = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, done.Token);
                if (read.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                await tls.WriteAsync(buffer.AsMemory(0, read.Count), done.Token);
            }
        }, CancellationToken.None);
        var down = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await tls.ReadAsync(buffer, done.Token)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, done.Token);
            }
        }, CancellationToken.None);
        await Task.WhenAny(up, down);
        await done.CancelAsync();
        await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (socket.State == WebSocketState.Open)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
