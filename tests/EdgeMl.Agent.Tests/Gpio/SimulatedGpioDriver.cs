using System.Device.Gpio;

namespace EdgeMl.Agent.Tests.Gpio;

/// <summary>
/// A GPIO driver in memory: tests raise edges on input pins (callbacks run synchronously, as the real drivers' event
/// threads do) and read back every write to output pins, in order.
/// </summary>
internal sealed class SimulatedGpioDriver : GpioDriver
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _values = [];
    private readonly Dictionary<int, List<(PinEventTypes Types, PinChangeEventHandler Handler)>> _callbacks = [];
    private readonly List<(int Pin, PinValue Value)> _writes = [];

    public SimulatedGpioDriver(int pinCount = 64) => PinCount = pinCount;

    protected override int PinCount { get; }

    public int OpenCount { get; private set; }

    public bool Disposed { get; private set; }

    public IReadOnlyList<(int Pin, PinValue Value)> Writes
    {
        get
        {
            lock (_lock)
            {
                return [.. _writes];
            }
        }
    }

    /// <summary>Raised after each write, so a test can wait for a light to change without polling.</summary>
    public event Action<int, PinValue>? Written;

    public IReadOnlyList<PinValue> WritesTo(int pin) => Writes.Where(w => w.Pin == pin).Select(w => w.Value).ToArray();

    public PinValue ValueOf(int pin)
    {
        lock (_lock)
        {
            return _values.GetValueOrDefault(pin, PinValue.Low);
        }
    }

    public PinMode? ModeOf(int pin)
    {
        lock (_lock)
        {
            return _modes.TryGetValue(pin, out var mode) ? mode : null;
        }
    }

    public bool HasCallback(int pin)
    {
        lock (_lock)
        {
            return _callbacks.TryGetValue(pin, out var list) && list.Count > 0;
        }
    }

    /// <summary>Drives an input pin to <paramref name="edge"/>'s level and calls the callbacks that listen for it.</summary>
    public void RaiseEdge(int pin, PinEventTypes edge)
    {
        List<(PinEventTypes Types, PinChangeEventHandler Handler)> listeners;
        lock (_lock)
        {
            _values[pin] = edge == PinEventTypes.Rising ? PinValue.High : PinValue.Low;
            listeners = _callbacks.TryGetValue(pin, out var list) ? [.. list] : [];
        }

        foreach (var (types, handler) in listeners)
        {
            if ((types & edge) != PinEventTypes.None)
            {
                handler(this, new PinValueChangedEventArgs(edge, pin));
            }
        }
    }

    protected override void OpenPin(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_lock)
        {
            OpenCount++;
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_lock)
        {
            _modes.Remove(pinNumber);
            _callbacks.Remove(pinNumber);
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_lock)
        {
            _modes[pinNumber] = mode;
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_lock)
        {
            return _modes.GetValueOrDefault(pinNumber, PinMode.Input);
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => ValueOf(pinNumber);

    protected override void Toggle(int pinNumber) => Write(pinNumber, ValueOf(pinNumber) == PinValue.High ? PinValue.Low : PinValue.High);

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_lock)
        {
            _values[pinNumber] = value;
            _writes.Add((pinNumber, value));
        }

        Written?.Invoke(pinNumber, value);
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the agent uses callbacks");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_lock)
        {
            if (!_callbacks.TryGetValue(pinNumber, out var list))
            {
                _callbacks[pinNumber] = list = [];
            }

            list.Add((eventTypes, callback));
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_lock)
        {
            if (_callbacks.TryGetValue(pinNumber, out var list))
            {
                list.RemoveAll(c => c.Handler == callback);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }

    private void CheckPin(int pin)
    {
        if (pin < 0 || pin >= PinCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pin), pin, $"the simulated chip has pins 0–{PinCount - 1}");
        }
    }
}
