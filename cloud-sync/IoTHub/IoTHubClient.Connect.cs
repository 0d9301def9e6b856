using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using System.Security.Authentication;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeMl.CloudSync.IoTHub;

internal sealed partial class IoTHubClient
{
    private readonly record struct ConnectOutcome(bool Connected, DateTimeOffset? TokenExpiresAt, bool AuthenticationFailed, string Reason);

    private async Task<ConnectOutcome> ConnectOnceAsync(IoTHubIdentity identity, CancellationToken stoppingToken)
    {
        Log.IoTHubConnecting(_logger, identity.ConnectHost, identity.Port, identity.ClientId);
        DateTimeOffset? expires = null;
        try
        {
            string? password = null;
            if (identity.Signer is not null)
            {
                (password, var at) = await SasPasswordAsync(identity, stoppingToken);
                expires = at;
            }

            NewMqttClient();
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            connectTimeout.CancelAfter(_options.OperationTimeout);
            var result = await _mqtt.ConnectAsync(BuildMqttOptions(identity, password), connectTimeout.Token);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                return Refused(result.ResultCode, result.ReasonString);
            }

            await SubscribeAsync(identity, stoppingToken);
            var twin = await GetTwinCoreAsync(stoppingToken);
            if (!twin.Succeeded)
            {
                Log.IoTHubTwinRefetchFailed(_logger, twin.Error, twin.Message);
                await DisconnectQuietlyAsync();
                return new ConnectOutcome(false, null, false, $"twin re-fetch after connect failed: {twin.Message}");
            }

            OnTwinFetched(twin.Twin!);
            _metrics.Connects.Add(1);
            SetState(IoTHubConnectionState.Connected, null, false, null);
            Log.IoTHubConnected(_logger, identity.ClientId);
            return new ConnectOutcome(true, expires, false, "");
        }
        catch (MqttConnectingFailedException ex)
        {
            await DisconnectQuietlyAsync();
            return Refused(ConnackCode(ex), ex.Message);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            await DisconnectQuietlyAsync();
            return new ConnectOutcome(false, null, false, $"no answer from {identity.ConnectHost}:{identity.Port} within {_options.OperationTimeout}");
        }
        catch (Exception ex) when (ex is MqttCommunicationException or System.Net.Sockets.SocketException or IOException
                                       or AuthenticationException or WorkloadApiException or HttpRequestException or InvalidOperationException)
        {
            await DisconnectQuietlyAsync();
            return new ConnectOutcome(false, null, false, Describe(ex));
        }
    }

    private Task<(string Token, DateTimeOffset ExpiresAt)> SasPasswordAsync(IoTHubIdentity identity, CancellationToken cancellationToken)
    {
        var resource = SasToken.ResourceUri(identity.IotHubHostName, identity.DeviceId, identity.ModuleId);
        var provider = new SasTokenProvider(identity.Signer!, resource, _time, _options.SasTokenTimeToLive, identity.KeyName);
        return provider.CreateAsync(cancellationToken);
    }

    /// <summary>
    /// A fresh MQTT client per connection: a late Disconnected event from the previous one (token renewal, failed
    /// attempt) then cannot be mistaken for the loss of this one.
    /// </summary>
    private void NewMqttClient()
    {
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        client.DisconnectedAsync += e => OnDisconnectedAsync(client, lost, e);
        Interlocked.Exchange(ref _mqtt, client).Dispose();
        _connectionLost = lost;
    }

    /// <summary>MQTTnet 5 carries the CONNACK code only in the message text.</summary>
    private static MqttClientConnectResultCode ConnackCode(MqttConnectingFailedException ex) =>
        ex.Message.Contains(nameof(MqttClientConnectResultCode.NotAuthorized), StringComparison.Ordinal)
            ? MqttClientConnectResultCode.NotAuthorized
            : ex.Message.Contains(nameof(MqttClientConnectResultCode.BadUserNameOrPassword), StringComparison.Ordinal)
                ? MqttClientConnectResultCode.BadUserNameOrPassword
                : MqttClientConnectResultCode.UnspecifiedError;

    private static ConnectOutcome Refused(MqttClientConnectResultCode code, string? detail)
    {
        // CONNACK 4/5 (MQTTnet maps them to BadUserNameOrPassword/NotAuthorized) are credential problems.
        var auth = code is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized;
        var what = auth ? "the hub refused our credentials (wrong key, expired token or unknown identity)" : $"the hub refused the connection ({code})";
        return new ConnectOutcome(false, null, auth, string.IsNullOrEmpty(detail) ? what : $"{what}: {detail}");
    }

    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is MqttCommunicationException)
        {
            inner = inner.InnerException;
        }

        return $"{inner.GetType().Name}: {inner.Message}";
    }

    private MqttClientOptions BuildMqttOptions(IoTHubIdentity identity, string? password)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(identity.ClientId)
            .WithCredentials(identity.UserName(_options.ApiVersion, _options.ProductInfo), password)
            .WithCleanSession(false)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.OperationTimeout);

        if (_options.Transport == IoTHubTransport.MqttWebSockets)
        {
            builder.WithWebSocketServer(ws => ws
                .WithUri($"wss://{identity.ConnectHost}:{identity.Port}/$iothub/websocket")
                .WithSubProtocols(["mqtt"]));
        }
        else
        {
            builder.WithTcpServer(identity.ConnectHost, identity.Port);
        }

        builder.WithTlsOptions(tls =>
        {
            tls.UseTls(true)
                .WithTargetHost(identity.ConnectHost)
                .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
                .WithCertificateValidationHandler(e => ValidateServerCertificate(e, identity.TrustedRoots));
            if (identity.ClientCertificate is { } cert)
            {
                tls.WithClientCertificates([cert]);
            }
        });
        return builder.Build();
    }

    internal static bool ValidateServerCertificate(MqttClientCertificateValidationEventArgs e, X509Certificate2Collection? roots)
    {
        if (roots is null || roots.Count == 0)
        {
            return e.SslPolicyErrors == SslPolicyErrors.None;
        }

        // The edge CA (trust bundle) or a configured root replaces the system store; the name must still match.
        if ((e.SslPolicyErrors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0 || e.Certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (e.Chain is not null)
        {
            foreach (var element in e.Chain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = e.Certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(e.Certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private async Task SubscribeAsync(IoTHubIdentity identity, CancellationToken cancellationToken)
    {
        // Responses first (reference §3.4), then desired before the twin GET so no patch slips between them.
        var builder = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(IoTHubTopics.TwinResponseFilter, MqttQualityOfServiceLevel.AtMostOnce)
            .WithTopicFilter(IoTHubTopics.DesiredFilter, MqttQualityOfServiceLevel.AtMostOnce)
            .WithTopicFilter(IoTHubTopics.MethodsFilter, MqttQualityOfServiceLevel.AtMostOnce);
        if (identity.ModuleId is not null)
        {
            builder.WithTopicFilter(IoTHubTopics.InputsFilter(identity.DeviceId, identity.ModuleId), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var result = await _mqtt.SubscribeAsync(builder.Build(), cancellationToken);
        foreach (var item in result.Items)
        {
            if ((int)item.ResultCode > 2)
            {
                throw new InvalidOperationException($"The hub refused the subscription to '{item.TopicFilter.Topic}' ({item.ResultCode}).");
            }
        }
    }

    private Task OnDisconnectedAsync(IMqttClient client, TaskCompletionSource<string> lost, MqttClientDisconnectedEventArgs e)
    {
        var reason = e.Exception is { } ex ? Describe(ex) : $"{e.Reason}";
        lost.TrySetResult(reason);
        if (!ReferenceEquals(client, _mqtt))
        {
            return Task.CompletedTask;
        }

        _pending.FailAll(IoTHubError.ConnectionLost, $"The connection to the hub was lost while waiting for the answer ({reason}).");
        lock (_stateLock)
        {
            if (_connectedSignal.Task.IsCompleted)
            {
                _connectedSignal = NewSignal();
            }
        }

        return Task.CompletedTask;
    }

    private async Task DisconnectQuietlyAsync()
    {
        try
        {
            if (_mqtt.IsConnected)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _mqtt.DisconnectAsync(new MqttClientDisconnectOptions(), cts.Token);
            }
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Already gone: nothing left to close.
        }
    }
}
