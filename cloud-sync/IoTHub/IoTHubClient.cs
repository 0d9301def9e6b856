using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using EdgeMl.CloudSync.Retry;
using EdgeMl.Runtime.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// The IoT Hub / edgeHub MQTT client. One singleton in two roles: the <see cref="IIoTHubClient"/> others call,
/// and the hosted service whose loop keeps the connection up (connect, subscribe, re-fetch the twin, renew the
/// token, back off on failure).
/// </summary>
internal sealed partial class IoTHubClient : BackgroundService, IIoTHubClient
{
    private readonly IoTHubClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<IoTHubClient> _logger;
    private readonly IoTHubMetrics _metrics;
    private readonly Func<string, string?> _environment;
    private IMqttClient _mqtt;
    private readonly BackOff _backoff;
    private readonly BackOff _authBackoff;
    private readonly PendingRequests _pending = new();
    private readonly Channel<DesiredPropertiesUpdate> _desired = Channel.CreateUnbounded<DesiredPropertiesUpdate>(new() { SingleReader = true });
    private readonly Lock _stateLock = new();
    private IoTHubIdentity? _identity;
    private TaskCompletionSource _connectedSignal = NewSignal();
    private TaskCompletionSource<string> _connectionLost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IoTHubConnectionState _state;

    public IoTHubClient(IOptions<IoTHubClientOptions> options, TimeProvider time, ILogger<IoTHubClient> logger, IMeterFactory meterFactory)
        : this(options, time, logger, meterFactory, Environment.GetEnvironmentVariable, () => RandomNumberGenerator.GetInt32(int.MaxValue) / (double)int.MaxValue)
    {
    }

    internal IoTHubClient(IOptions<IoTHubClientOptions> options, TimeProvider time, ILogger<IoTHubClient> logger, IMeterFactory meterFactory,
        Func<string, string?> environment, Func<double> random)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = new IoTHubMetrics(meterFactory);
        _environment = environment;
        // Full jitter: a fleet that lost the same hub comes back spread over the window, not in step (docs/benchmarks.md).
        _backoff = BackOff.Full(_options.ReconnectMinDelay, _options.ReconnectMaxDelay, _options.ReconnectSpread, random);
        _authBackoff = new BackOff(_options.AuthenticationFailureMinDelay, _options.AuthenticationFailureMaxDelay, random: random);
        _telemetry = CreateTelemetryQueue(_options.TelemetryQueueCapacity);
        _inputs = Channel.CreateBounded<IoTHubMessage>(new BoundedChannelOptions(_options.InputQueueCapacity) { SingleReader = true });
        _mqtt = new MqttClientFactory().CreateMqttClient();
    }

    public IoTHubConnectionState State => _state;

    public event EventHandler<IoTHubConnectionStateChangedEventArgs>? ConnectionStateChanged;

    internal IoTHubIdentity? Resolved => _identity;

    public IoTHubClientIdentity? Identity => _identity is { } i ? new(i.DeviceId, i.ModuleId) : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A configuration problem at start is fatal on purpose (IoT Edge restarts the module).
        _identity = await IoTHubIdentityResolver.ResolveAsync(_options, _environment, stoppingToken);
        var pump = PumpTelemetryAsync(stoppingToken);
        var inputs = PumpInputsAsync(stoppingToken);
        var failures = 0;
        var authFailures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var outcome = await AttemptAsync(_identity, stoppingToken);
                if (outcome.Connected)
                {
                    authFailures = 0;
                    failures = await HoldAsync(outcome, failures, stoppingToken);
                }
                else
                {
                    (failures, authFailures) = await WaitAfterFailureAsync(outcome, failures, authFailures, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _telemetry.Writer.TryComplete();
            _inputs.Writer.TryComplete();
            _desired.Writer.TryComplete();
            await DisconnectQuietlyAsync();
            SetState(IoTHubConnectionState.Disconnected, "stopped", false, null);
            _pending.FailAll(IoTHubError.NotConnected, "The IoT Hub client stopped.");
            await Task.WhenAll(pump, inputs).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One connection attempt; whatever it throws short of stopping is a failed attempt, logged.</summary>
    private async Task<ConnectOutcome> AttemptAsync(IoTHubIdentity identity, CancellationToken stoppingToken)
    {
        SetState(IoTHubConnectionState.Connecting, null, false, null);
        try
        {
            return await ConnectOnceAsync(identity, stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Something we did not foresee (a twin we cannot read, a library bug): the loop must outlive it,
            // so it is logged and treated as a failed attempt with back-off.
            Log.IoTHubLoopError(_logger, ex);
            await DisconnectQuietlyAsync();
            return new ConnectOutcome(false, null, false, Describe(ex));
        }
    }

    /// <summary>Stays connected until the token is renewed or the link drops, then waits out the back-off.</summary>
    /// <returns>The failures in a row from here: none after a renewal or a connection that held.</returns>
    private async Task<int> HoldAsync(ConnectOutcome outcome, int failures, CancellationToken stoppingToken)
    {
        var connectedAt = _time.GetUtcNow();
        var renewed = await StayConnectedAsync(outcome.TokenExpiresAt, stoppingToken);
        if (renewed || stoppingToken.IsCancellationRequested)
        {
            return 0;
        }

        // The first retry after a connection that held is immediate, as in the Node SDK. One that dropped
        // at once (a twin module fighting for the identity, a hub refusing us after CONNACK) backs off.
        failures = _time.GetUtcNow() - connectedAt >= _options.ReconnectMaxDelay ? 0 : failures + 1;
        var retry = _backoff.Delay(failures);
        var pause = Task.Delay(retry, _time, stoppingToken);
        SetState(IoTHubConnectionState.Disconnected, "connection lost", false, retry);
        await pause;
        return failures;
    }

    /// <summary>Counts a failed attempt and waits out its back-off: the credentials' when the hub refused them.</summary>
    private async Task<(int Failures, int AuthFailures)> WaitAfterFailureAsync(ConnectOutcome outcome, int failures, int authFailures, CancellationToken stoppingToken)
    {
        _metrics.ConnectFailures.Add(1);
        var delay = outcome.AuthenticationFailed ? _authBackoff.Delay(++authFailures) : _backoff.Delay(++failures);
        if (outcome.AuthenticationFailed)
        {
            Log.IoTHubUnauthorized(_logger, delay, outcome.Reason);
        }
        else
        {
            Log.IoTHubConnectFailed(_logger, delay, outcome.Reason);
        }

        // The timer starts before observers hear of the failure, so a fake clock advanced on that news fires it.
        var wait = Task.Delay(delay, _time, stoppingToken);
        SetState(IoTHubConnectionState.Disconnected, outcome.Reason, outcome.AuthenticationFailed, delay);
        await wait;
        return (failures, authFailures);
    }

    /// <summary>Waits for the connection to drop or for the token to need renewal; true when renewing.</summary>
    private async Task<bool> StayConnectedAsync(DateTimeOffset? tokenExpiresAt, CancellationToken stoppingToken)
    {
        var lost = _connectionLost.Task;
        Task renewal = Task.Delay(Timeout.Infinite, stoppingToken);
        if (tokenExpiresAt is { } expires)
        {
            var margin = _options.SasTokenTimeToLive * (_options.SasTokenRenewalPercent / 100.0);
            var wait = expires - margin - _time.GetUtcNow();
            renewal = Task.Delay(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, _time, stoppingToken);
        }

        var done = await Task.WhenAny(lost, renewal);
        if (done == lost)
        {
            Log.IoTHubDisconnected(_logger, lost.Result);
            return false;
        }

        stoppingToken.ThrowIfCancellationRequested();
        Log.IoTHubRenewingToken(_logger, tokenExpiresAt!.Value);
        await DisconnectQuietlyAsync();
        return true;
    }

    private void SetState(IoTHubConnectionState state, string? reason, bool authFailure, TimeSpan? retryIn)
    {
        lock (_stateLock)
        {
            _state = state;
            if (state == IoTHubConnectionState.Connected)
            {
                _connectedSignal.TrySetResult();
            }
            else if (_connectedSignal.Task.IsCompleted)
            {
                _connectedSignal = NewSignal();
            }
        }

        try
        {
            ConnectionStateChanged?.Invoke(this, new IoTHubConnectionStateChangedEventArgs(state, reason, authFailure, retryIn));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber's bug must not stop the connection loop.
            Log.IoTHubLoopError(_logger, ex);
        }
    }

    private Task WaitForConnectedAsync(CancellationToken cancellationToken)
    {
        lock (_stateLock)
        {
            return _connectedSignal.Task.WaitAsync(cancellationToken);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Dispose()
    {
        _mqtt.Dispose();
        base.Dispose();
    }

    public IAsyncEnumerable<DesiredPropertiesUpdate> ReadDesiredUpdatesAsync(CancellationToken cancellationToken) =>
        _desired.Reader.ReadAllAsync(cancellationToken);

    /// <summary>
    /// A twin document or patch. Strings are checked first: a name that is not text, or a name given twice, would
    /// throw where the object is first read (or, for the duplicate check, inside the parse), so both are refused here
    /// with the other malformed JSON (found by the desired fuzz harness).
    /// </summary>
    internal static JsonObject ParseObject(ReadOnlySpan<byte> body) =>
        !JsonStrings.AreValid(body) ? throw new System.Text.Json.JsonException("A string in the JSON object is not valid UTF-8 text.")
        : JsonNode.Parse(body, documentOptions: new() { AllowDuplicateProperties = false }) as JsonObject
            ?? throw new System.Text.Json.JsonException("Expected a JSON object.");
}
