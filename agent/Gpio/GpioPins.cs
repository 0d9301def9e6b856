using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>Opens the board's GPIO driver; a seam so tests run on a simulated one.</summary>
internal interface IGpioControllerFactory
{
    GpioController Create(GpioOptions options);
}

internal sealed class BoardGpioControllerFactory : IGpioControllerFactory
{
    public GpioController Create(GpioOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Chip is { } chip ? new GpioController(new LibGpiodDriver(chip)) : new GpioController();
    }
}

/// <summary>
/// The one GPIO controller the triggers and lights share, opened on first use only: with no pins configured
/// nothing asks for it, and no driver is opened.
/// </summary>
internal sealed class GpioPins(IOptions<GpioOptions> options, IGpioControllerFactory factory) : IDisposable
{
    private readonly Lazy<GpioController> _controller = new(() => factory.Create(options.Value), LazyThreadSafetyMode.ExecutionAndPublication);

    public bool IsOpened => _controller.IsValueCreated;

    public GpioController Controller => _controller.Value;

    public void Dispose()
    {
        if (_controller.IsValueCreated)
        {
            _controller.Value.Dispose();
        }
    }
}
