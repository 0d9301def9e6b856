using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeMl.CloudSync.Health;

/// <summary>
/// Keeps one MQTT connection to the health broker: <c>offline</c> registered as the last will, <c>online</c> and the
/// latest health document published retained on every connect, events sent in order and kept, within a bound,
/// while the broker is away. On a clean stop it publishes <c>offline</c> itself.
/// </summary>
internal sealed class MqttHealthPublisher : BackgroundService, IHealthPublisher
{
    private static readonly byte[] Online = "online"u8.ToArray();
    private static readonly byte[] Offline = "offline"u8.ToArray();

    private readonly MqttHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<ReadOnlyMemory<byte>> _events;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly string _broker;
    private IMqttClient? _client;
    private ReadOnlyMemory<byte>? _health;
    private volatile bool _healthDirty;
    private long _dropped;
    private string? _lastError;

    public MqttHealthPublisher(IOptions<MqttHealthOptions> options, TimeProvider time, ILogger<MqttHealthPublisher> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _broker = $"{_options.Host ?? "127.0.0.1"}:{_options.EffectivePort}";
        _events = Channel.CreateBounded<ReadOnlyMemory<byte>>(
            new BoundedChannelOptions(_options.MaxQueuedEvents) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ =>
            {
                var dropped = Interlocked.Increment(ref _dropped);
                Log.HealthEventDropped(_logger, dropped);
            });
    }

    public BrokerLink Link => new(_client?.IsConnected == true, _broker, _lastError, Interlocked.Read(ref _dropped));

    public void PublishHealth(ReadOnlyMemory<byte> json)
    {
        _health = json.ToArray();
        _healthDirty = true;
        _wake.Release();
    }

    public bool PublishEvent(ReadOnlyMemory<byte> json)
    {
        var before = Interlocked.Read(ref _dropped);
        _events.Writer.TryWrite(json.ToArray());
        _wake.Release();
        return Interlocked.Read(ref _dropped) == before;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_client is { IsConnected: true } client)
        {
            try
            {
                // A clean DISCONNECT does not fire the will, so say it ourselves.
                await client.PublishAsync(Message(_options.StatusTopic, Offline, retain: true), cancellationToken);
                await client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
                // The broker or the connection went first; the will says offline for us.
            }
        }
    }

    public override void Dispose()
    {
        _client?.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    /// <summary>Drops the connection without a DISCONNECT, as a killed process does; the broker then sends the will.</summary>
    internal void Abort() => _client?.Dispose();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = _options.ReconnectDelayMin;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConnectAsync(stoppingToken);
                delay = _options.ReconnectDelayMin;
                await PumpAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Adapter.MqttConnectingFailedException
                                       or InvalidOperationException or IOException or System.Security.Authentication.AuthenticationException
                                       or ObjectDisposedException or OperationCanceledException)
            {
                // The agent serves whether or not a broker listens; report, back off, try again.
                _lastError = e.Message;
                Log.BrokerUnreachable(_logger, _broker, e.Message, delay);
                await Task.Delay(delay, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectDelayMax.Ticks));
            }
        }
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _client?.Dispose();
        var client = new MqttClientFactory().CreateMqttClient();
        client.DisconnectedAsync += _ =>
        {
            _wake.Release();
            return Task.CompletedTask;
        };
        _client = client;
        var result = await client.ConnectAsync(Options(), cancellationToken);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"the broker refused the connection: {result.ResultCode}");
        }

        _lastError = null;
        await client.PublishAsync(Message(_options.StatusTopic, Online, retain: true), cancellationToken);
        _healthDirty = _health is not null;
        Log.BrokerConnected(_logger, _broker);
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var client = _client!;
        var nextHealth = _time.GetUtcNow() + _options.HealthInterval;
        while (client.IsConnected)
        {
            if (_healthDirty && _health is { } health)
            {
                _healthDirty = false;
                await client.PublishAsync(Message(_options.HealthTopic, health, retain: true), cancellationToken);
                nextHealth = _time.GetUtcNow() + _options.HealthInterval;
            }

            while (_events.Reader.TryPeek(out var json))
            {
                // Taken from the queue only once the broker has it: an outage loses nothing within the bound.
                await client.PublishAsync(Message(_options.EventsTopic, json, retain: false), cancellationToken);
                _events.Reader.TryRead(out _);
            }

            var wait = nextHealth - _time.GetUtcNow();
            if (wait <= TimeSpan.Zero || !await _wake.WaitAsync(wait, cancellationToken))
            {
                _healthDirty = _health is not null;
                nextHealth = _time.GetUtcNow() + _options.HealthInterval;
            }
        }

        throw new MQTTnet.Exceptions.MqttCommunicationException("the broker connection was lost");
    }

    private MqttClientOptions Options()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId($"edgeml-{_options.DeviceId}")
            .WithTcpServer(_options.Host ?? "127.0.0.1", _options.EffectivePort)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithWillTopic(_options.StatusTopic)
            .WithWillPayload(Offline)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Username is not null)
        {
            builder.WithCredentials(_options.Username, _options.Password);
        }

        if (_options.Host is not null && _options.Tls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls(true).WithTargetHost(_options.Host);
                if (_options.CaCertificateFile is { } ca)
                {
                    var roots = new X509Certificate2Collection();
                    roots.ImportFromPemFile(ca);
                    tls.WithTrustChain(roots);
                }

                if (_options.ClientCertificateFile is { } cert)
                {
                    tls.WithClientCertificates([X509Certificate2.CreateFromPemFile(cert, _options.ClientKeyFile)]);
                }
            });
        }

        return builder.Build();
    }

    private static MqttApplicationMessage Message(string topic, ReadOnlyMemory<byte> payload, bool retain) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.ToArray())
            .WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
}
