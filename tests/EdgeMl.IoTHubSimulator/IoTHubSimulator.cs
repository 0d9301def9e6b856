using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeMl.IoTHubSimulator;

public enum TwinRequestBehavior
{
    Normal,
    /// <summary>Swallow twin requests: the client's request must time out.</summary>
    Ignore,
    /// <summary>Answer every twin request with 500 and an error body.</summary>
    ServerError,
    /// <summary>Answer 200 with a body that is not JSON.</summary>
    MalformedBody,
}

public sealed class IoTHubSimulatorOptions
{
    /// <summary>The IoT hub host name that goes into SAS audiences and usernames.</summary>
    public string HubHostName { get; set; } = "sim-hub.azure-devices.net";

    /// <summary>0 picks a free loopback port.</summary>
    public int Port { get; set; }

    /// <summary>Answer reported patches as edgeHub does: 204 without <c>$version</c>.</summary>
    public bool EdgeHubMode { get; set; }

    public bool IncludeMetadataInTwinGet { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>
/// An IoT Hub stand-in over MQTT/TLS with IoT Hub semantics: identities and SAS validation, one connection
/// per identity, twins with versions, desired pushes, direct methods, telemetry capture and module inputs.
/// </summary>
public sealed partial class IoTHubSimulator : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SimulatedIdentity> _identities = new(StringComparer.Ordinal);
    private readonly IoTHubSimulatorOptions _options;
    private readonly Lock _changeLock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MqttServer? _server;
    private WebSocketBridge? _webSockets;

    public IoTHubSimulator(IoTHubSimulatorOptions? options = null)
    {
        _options = options ?? new IoTHubSimulatorOptions();
        Certificates = SimulatorCertificates.Create(_options.HubHostName);
        Port = _options.Port == 0 ? FreePort() : _options.Port;
    }

    public SimulatorCertificates Certificates { get; }

    public int Port { get; }

    public string HubHostName => _options.HubHostName;

    public bool EdgeHubMode
    {
        get => _options.EdgeHubMode;
        set => _options.EdgeHubMode = value;
    }

    public TwinRequestBehavior TwinBehavior { get; set; }

    /// <summary>Clock for token expiry and metadata; tests pass a FakeTimeProvider.</summary>
    public TimeProvider Time
    {
        get => _options.TimeProvider;
        set => _options.TimeProvider = value;
    }

    public bool IsRunning => _server?.IsStarted == true;

    /// <summary>PUBLISHes at QoS 2 seen (and refused by closing the connection).</summary>
    public int QoS2Refusals { get; private set; }

    public async Task StartAsync()
    {
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
            .WithEncryptedEndpointBoundIPV6Address(IPAddress.IPv6Loopback)
            .WithEncryptedEndpointPort(Port)
            .WithEncryptionCertificate(Certificates.ServerCertificate)
            .WithEncryptionSslProtocol(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
            .WithTlsEndpointReuseAddress()
            .Build();
        // Ask for a client certificate (X.509 identities) but let SAS clients in without one.
        options.TlsEndpointOptions.ClientCertificateRequired = true;
#pragma warning disable CA5359 // Client certificates are matched by thumbprint at CONNECT, as IoT Hub does for self-signed X.509.
        options.TlsEndpointOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359

        var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += OnValidatingConnectionAsync;
        server.ClientConnectedAsync += OnClientConnectedAsync;
        server.ClientDisconnectedAsync += OnClientDisconnectedAsync;
        server.InterceptingSubscriptionAsync += OnInterceptingSubscriptionAsync;
        server.InterceptingPublishAsync += OnInterceptingPublishAsync;
        await server.StartAsync();
        _server = server;
    }

    /// <summary>Stops the server (dropping every connection) but keeps identities, twins and captured messages.</summary>
    public async Task StopAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(new MqttServerStopOptions());
            server.Dispose();
            foreach (var identity in _identities.Values)
            {
                identity.IsConnected = false;
                lock (identity.Subscriptions)
                {
                    identity.Subscriptions.Clear();
                }
            }

            FailPendingMethods();
            NotifyChanged();
        }
    }

    /// <summary>Starts the <c>wss://…/$iothub/websocket</c> endpoint (once); returns its port.</summary>
    public async Task<int> StartWebSocketsAsync()
    {
        _webSockets ??= await WebSocketBridge.StartAsync(this);
        return _webSockets.Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_webSockets is not null)
        {
            await _webSockets.DisposeAsync();
        }

        await StopAsync();
        Certificates.Dispose();
    }

    public SimulatedIdentity AddDevice(string deviceId, string? primaryKey = null) =>
        Add(new SimulatedIdentity(deviceId, null, primaryKey ?? NewKey(), null));

    public SimulatedIdentity AddModule(string deviceId, string moduleId, string? primaryKey = null) =>
        Add(new SimulatedIdentity(deviceId, moduleId, primaryKey ?? NewKey(), null));

    public SimulatedIdentity AddX509Device(string deviceId, string thumbprint) =>
        Add(new SimulatedIdentity(deviceId, null, null, thumbprint));

    private SimulatedIdentity Add(SimulatedIdentity identity) =>
        _identities.TryAdd(identity.Key, identity) ? identity : throw new InvalidOperationException($"Identity '{identity.Key}' already exists.");

    public SimulatedIdentity GetIdentity(string deviceId, string? moduleId = null) =>
        _identities.TryGetValue(moduleId is null ? deviceId : $"{deviceId}/{moduleId}", out var identity)
            ? identity
            : throw new KeyNotFoundException($"No identity '{deviceId}{(moduleId is null ? "" : "/" + moduleId)}'.");

    public IReadOnlyCollection<SimulatedIdentity> Identities => [.. _identities.Values];

    /// <summary>A connection string for the identity. <paramref name="gatewayHost"/> defaults to 127.0.0.1:port so clients reach us.</summary>
    public string ConnectionString(SimulatedIdentity identity, string? gatewayHost = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var cs = $"HostName={HubHostName};DeviceId={identity.DeviceId}";
        if (identity.ModuleId is not null)
        {
            cs += $";ModuleId={identity.ModuleId}";
        }

        cs += identity.PrimaryKey is null ? ";x509=true" : $";SharedAccessKey={identity.PrimaryKey}";
        return cs + $";GatewayHostName={gatewayHost ?? $"127.0.0.1:{Port}"}";
    }

    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking on every simulator event; the timeout only guards against hangs.</summary>
    public async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_changeLock)
            {
                changed = _changed.Task;
            }

            if (condition())
            {
                return;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The simulator did not see {what} within {timeout}.");
            }
        }
    }

    internal void NotifyChanged()
    {
        lock (_changeLock)
        {
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private async Task DeliverAsync(SimulatedIdentity identity, string topic, ReadOnlyMemory<byte> body, MqttQualityOfServiceLevel qos)
    {
        if (_server is not { } server)
        {
            return;
        }

        var session = await server.GetSessionAsync(identity.Key);
        if (session is null)
        {
            return;
        }

        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(body.ToArray())
            .WithQualityOfServiceLevel(qos)
            .Build();
        session.TryEnqueueApplicationMessage(message, out _);
    }

    internal static bool IsV311(MqttProtocolVersion version) => version == MqttProtocolVersion.V311;
}
