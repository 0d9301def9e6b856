using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Gpio;

public sealed class GpioOptionsTests
{
    [Fact]
    public async Task Start_NoPinsConfigured_OpensNoDriver()
    {
        await using var host = GpioTestHost.Build(new Dictionary<string, string?>());

        await host.StartAsync();

        Assert.Equal(0, host.Factory.Created);
        Assert.Equal(0, host.Driver.OpenCount);
    }

    [Fact]
    public async Task Start_InferTriggerWithoutModel_RefusedNamingTheTrigger()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "17"), ("Triggers:0:Action", "Infer")));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(host.StartAsync);

        Assert.Contains("EdgeMl:Gpio:Triggers:0 (pin 17): Action Infer needs a Model to run.", e.Failures);
        Assert.Equal(0, host.Factory.Created);
    }

    [Fact]
    public async Task Start_PinTwiceAndPinOutOfRange_RefusedWithEveryProblem()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(
            ("Triggers:0:Pin", "5"), ("Triggers:0:Model", "ocr-cls"),
            ("Lights:0:Pin", "5"), ("Lights:0:Signal", "Error"),
            ("Lights:1:Pin", "2000"), ("Lights:1:Signal", "Serving"),
            ("Triggers:1:Pin", "6"), ("Triggers:1:Action", "Event"), ("Triggers:1:Debounce", "00:01:00")));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(host.StartAsync);

        var message = string.Join(" | ", e.Failures);
        Assert.Contains("pin 5 is configured more than once (trigger, light)", message, StringComparison.Ordinal);
        Assert.Contains("Lights[1].Pin", message, StringComparison.Ordinal);
        Assert.Contains("between 0 and 1023", message, StringComparison.Ordinal);
        Assert.Contains("Triggers[1].Debounce", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_UnknownEdgeName_RefusedNamingTheValueInsteadOfDroppingTheTrigger()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "4"), ("Triggers:0:Edge", "Sideways"), ("Triggers:0:Action", "Event")));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.Contains("'Sideways' at 'EdgeMl:Gpio:Triggers:0:Edge'", e.Message, StringComparison.Ordinal);
    }
}
