using System.Device.Gpio;

namespace EdgeMl.Agent.Gpio;

/// <summary>
/// Drives the status-light pins from the agent's signal. A light configured for one signal shows that signal's
/// pattern while the agent is in it and is dark otherwise; an <see cref="GpioLightSignal.Any"/> light shows
/// whichever signal is current. Patterns restart when the signal changes, so a change is visible at once.
/// </summary>
internal sealed class StatusLights
{
    private readonly GpioController _controller;
    private readonly IReadOnlyList<GpioLightOptions> _lights;
    private readonly IAgentStatusSignal _status;
    private readonly TimeProvider _time;
    private readonly Dictionary<int, PinValue> _written = [];
    private AgentSignal? _signal;
    private DateTimeOffset _since;

    public StatusLights(GpioController controller, IReadOnlyList<GpioLightOptions> lights, IAgentStatusSignal status, TimeProvider time)
    {
        _controller = controller;
        _lights = lights;
        _status = status;
        _time = time;
    }

    public AgentSignal? Signal => _signal;

    public void Open()
    {
        foreach (var light in _lights)
        {
            _controller.OpenPin(light.Pin, PinMode.Output, Level(light, on: false));
            _written[light.Pin] = Level(light, on: false);
        }
    }

    /// <summary>Sets every light for now; returns how long until one of them next changes (at most a status poll away).</summary>
    public TimeSpan Update(TimeSpan pollInterval)
    {
        var now = _time.GetUtcNow();
        var signal = _status.Current;
        if (signal != _signal)
        {
            _signal = signal;
            _since = now;
        }

        var next = pollInterval;
        foreach (var light in _lights)
        {
            var pattern = light.Signal == GpioLightSignal.Any || (int)light.Signal == (int)signal
                ? BlinkPattern.For(signal)
                : BlinkPattern.SteadyOff;
            var (on, remaining) = pattern.At(now - _since);
            var level = Level(light, on);
            if (!_written.TryGetValue(light.Pin, out var written) || written != level)
            {
                _controller.Write(light.Pin, level);
                _written[light.Pin] = level;
            }

            if (remaining < next)
            {
                next = remaining;
            }
        }

        return next;
    }

    public void TurnOff()
    {
        foreach (var light in _lights)
        {
            _controller.Write(light.Pin, Level(light, on: false));
        }
    }

    private static PinValue Level(GpioLightOptions light, bool on) => on != light.ActiveLow ? PinValue.High : PinValue.Low;
}
