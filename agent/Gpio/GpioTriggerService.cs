using System.Device.Gpio;
using System.Threading.Channels;
using EdgeMl.Agent.Telemetry;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>
/// Watches the trigger pins. An edge of the configured kind, outside the debounce window of the last accepted one,
/// queues the trigger; the loop then runs its model on the latest sample (or just reports the event) and hands the
/// outcome to the <see cref="IGpioSink"/>. The driver's callback only queues, so a slow model never holds up the
/// driver's event thread; a full queue drops the edge and counts it.
/// </summary>
internal sealed class GpioTriggerService : BackgroundService
{
    private const int QueueCapacity = 64;
    private readonly GpioOptions _options;
    private readonly GpioPins _pins;
    private readonly LatestSampleCache _samples;
    private readonly InferenceEngine _engine;
    private readonly IGpioSink _sink;
    private readonly GpioMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<int, GpioTriggerOptions> _byPin;
    private readonly Dictionary<int, long> _lastAccepted = [];
    private readonly Lock _debounceLock = new();
    private readonly Channel<GpioTriggered> _queue = Channel.CreateBounded<GpioTriggered>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });

    public GpioTriggerService(IOptions<GpioOptions> options, GpioPins pins, LatestSampleCache samples, InferenceEngine engine, IGpioSink sink,
        GpioMetrics metrics, TimeProvider time, ILogger<GpioTriggerService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _pins = pins;
        _samples = samples;
        _engine = engine;
        _sink = sink;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _byPin = _options.Triggers.ToDictionary(t => t.Pin);
    }

    /// <summary>Opens the pins and registers the callbacks before the host finishes starting: a wrong pin fails the start.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Triggers.Count > 0)
        {
            var controller = _pins.Controller;
            foreach (var trigger in _options.Triggers)
            {
                controller.OpenPin(trigger.Pin, trigger.Mode switch
                {
                    GpioInputMode.InputPullUp => PinMode.InputPullUp,
                    GpioInputMode.InputPullDown => PinMode.InputPullDown,
                    _ => PinMode.Input,
                });
                controller.RegisterCallbackForPinValueChangedEvent(trigger.Pin, EventTypes(trigger.Edge), OnPinChanged);
            }

            Log.GpioTriggersStarted(_logger, string.Join(", ", _options.Triggers.Select(t => $"{t.Pin} {t.Edge}→{t.Action} {t.Model}")));
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_options.Triggers.Count > 0)
        {
            foreach (var trigger in _options.Triggers)
            {
                _pins.Controller.UnregisterCallbackForPinValueChangedEvent(trigger.Pin, OnPinChanged);
            }

            _queue.Writer.TryComplete();
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var triggered in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await HandleAsync(triggered, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad trigger (a sink that throws, say) must not stop the pins from working.
                Log.GpioTriggerFailed(_logger, e, triggered.Pin);
            }
        }
    }

    /// <summary>The driver's callback: debounce, then queue. Runs on the driver's event thread.</summary>
    internal void OnPinChanged(object sender, PinValueChangedEventArgs e)
    {
        if (!_byPin.TryGetValue(e.PinNumber, out var trigger) || (EventTypes(trigger.Edge) & e.ChangeType) == PinEventTypes.None)
        {
            return;
        }

        var now = _time.GetTimestamp();
        lock (_debounceLock)
        {
            if (_lastAccepted.TryGetValue(e.PinNumber, out var last) && _time.GetElapsedTime(last, now) < trigger.Debounce)
            {
                _metrics.Edge(e.PinNumber, "debounced");
                return;
            }

            _lastAccepted[e.PinNumber] = now;
        }

        var edge = e.ChangeType == PinEventTypes.Rising ? GpioEdge.Rising : GpioEdge.Falling;
        if (_queue.Writer.TryWrite(new GpioTriggered(e.PinNumber, edge, trigger.Action, trigger.Model, _time.GetUtcNow())))
        {
            _metrics.Edge(e.PinNumber, "accepted");
        }
        else
        {
            _metrics.Edge(e.PinNumber, "dropped");
            Log.GpioEdgeDropped(_logger, e.PinNumber, QueueCapacity);
        }
    }

    private async Task HandleAsync(GpioTriggered triggered, CancellationToken cancellationToken)
    {
        if (triggered.Action == GpioAction.Event)
        {
            await _sink.OnEventAsync(triggered, cancellationToken).ConfigureAwait(false);
            return;
        }

        var model = triggered.Model!;
        InferenceResult result;
        if (!_samples.TryGet(model, out var request))
        {
            _metrics.Inference(model, "no_sample");
            result = InferenceResult.Failure(model, 0, new InferenceError(InferenceErrorKind.NotReady,
                $"pin {triggered.Pin} triggered '{model}', but the agent has not served a request for it yet; a trigger re-runs the latest one"));
        }
        else
        {
            using var trace = Traces.StartPrediction(Traces.Gpio, model, traceparent: null);
            trace?.SetTag("edgeml.gpio.pin", triggered.Pin);
            result = await _engine.InferAsync(model, request, cancellationToken: cancellationToken).ConfigureAwait(false);
            _metrics.Inference(model, result.IsSuccess ? "success" : "failed");
        }

        using (result)
        {
            await _sink.OnInferenceAsync(triggered, result, cancellationToken).ConfigureAwait(false);
        }
    }

    private static PinEventTypes EventTypes(GpioEdge edge) => edge switch
    {
        GpioEdge.Rising => PinEventTypes.Rising,
        GpioEdge.Falling => PinEventTypes.Falling,
        _ => PinEventTypes.Rising | PinEventTypes.Falling,
    };
}
