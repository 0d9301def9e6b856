using System.Device.Gpio;
using System.Device.Gpio.Drivers;

namespace EdgeMl.HilTests;

/// <summary>A wire from EDGEML_HIL_GPIO_OUT to EDGEML_HIL_GPIO_IN: what one pin drives, the other reads and sees change.</summary>
[Trait("Category", "Hardware")]
public sealed class GpioLoopbackTests
{
    private static readonly TimeSpan EdgeGuard = TimeSpan.FromSeconds(5);

    [GpioLoopbackFact]
    public void Write_HighThenLow_ReadBackOnTheWiredPin()
    {
        using var controller = new GpioController(new LibGpiodDriver(Hardware.GpioChip));
        var (output, input) = (Hardware.GpioOut!.Value, Hardware.GpioIn!.Value);
        controller.OpenPin(output, PinMode.Output, PinValue.Low);
        controller.OpenPin(input, PinMode.Input);

        controller.Write(output, PinValue.High);
        var high = controller.Read(input);
        controller.Write(output, PinValue.Low);
        var low = controller.Read(input);

        Assert.Equal(PinValue.High, high);
        Assert.Equal(PinValue.Low, low);
    }

    [GpioLoopbackFact]
    public async Task Callback_RisingEdgeOnTheWire_Raised()
    {
        using var controller = new GpioController(new LibGpiodDriver(Hardware.GpioChip));
        var (output, input) = (Hardware.GpioOut!.Value, Hardware.GpioIn!.Value);
        controller.OpenPin(output, PinMode.Output, PinValue.Low);
        controller.OpenPin(input, PinMode.Input);
        var rising = new TaskCompletionSource<PinValueChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        controller.RegisterCallbackForPinValueChangedEvent(input, PinEventTypes.Rising, (_, e) => rising.TrySetResult(e));

        controller.Write(output, PinValue.High);
        var edge = await rising.Task.WaitAsync(EdgeGuard);

        Assert.Equal(input, edge.PinNumber);
        Assert.Equal(PinEventTypes.Rising, edge.ChangeType);
        controller.Write(output, PinValue.Low);
    }
}
