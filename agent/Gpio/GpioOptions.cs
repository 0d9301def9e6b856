using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>GPIO triggers and status lights (configuration section <c>EdgeMl:Gpio</c>). No pins, no GPIO.</summary>
internal sealed class GpioOptions
{
    public const string Section = "EdgeMl:Gpio";

    /// <summary>The gpiochip to open with libgpiod (<c>/dev/gpiochip{n}</c>); null lets System.Device.Gpio pick the board's driver.</summary>
    [Range(0, 63)]
    public int? Chip { get; set; }

    [ValidateEnumeratedItems]
    public List<GpioTriggerOptions> Triggers { get; set; } = [];

    [ValidateEnumeratedItems]
    public List<GpioLightOptions> Lights { get; set; } = [];

    /// <summary>How often the lights look at the agent's status between blink transitions.</summary>
    [TimeSpanRange("00:00:00.050", "00:01:00")]
    public TimeSpan StatusPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public bool Enabled => Triggers.Count > 0 || Lights.Count > 0;
}

internal enum GpioEdge
{
    Rising,
    Falling,
    Both,
}

internal enum GpioAction
{
    /// <summary>Run the trigger's model on the latest request the agent saw for it.</summary>
    Infer,

    /// <summary>Only report that the pin changed.</summary>
    Event,
}

internal enum GpioInputMode
{
    Input,
    InputPullUp,
    InputPullDown,
}

/// <summary>An input pin whose edges run an inference or raise an event.</summary>
internal sealed class GpioTriggerOptions
{
    /// <summary>The pin in the driver's (logical, BCM on a Raspberry Pi) numbering.</summary>
    [Range(0, 1023)]
    public int Pin { get; set; } = -1;

    public GpioEdge Edge { get; set; } = GpioEdge.Rising;

    public GpioInputMode Mode { get; set; } = GpioInputMode.Input;

    /// <summary>The model to run; required for <see cref="GpioAction.Infer"/>.</summary>
    public string? Model { get; set; }

    public GpioAction Action { get; set; } = GpioAction.Infer;

    /// <summary>Edges closer than this to the last accepted one on the pin are contact bounce and ignored.</summary>
    [TimeSpanRange("00:00:00", "00:00:10")]
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>What a status light shows.</summary>
internal enum GpioLightSignal
{
    Serving,
    Degraded,
    Error,
    Updating,

    /// <summary>Whatever the agent's status is, in its blink pattern (for boards with a single LED).</summary>
    Any,
}

/// <summary>An output pin driving a status light.</summary>
internal sealed class GpioLightOptions
{
    [Range(0, 1023)]
    public int Pin { get; set; } = -1;

    public GpioLightSignal Signal { get; set; } = GpioLightSignal.Any;

    /// <summary>The LED lights when the pin is low (wired to the supply rather than to ground).</summary>
    public bool ActiveLow { get; set; }
}

[OptionsValidator]
internal sealed partial class GpioOptionsValidator : IValidateOptions<GpioOptions>;

/// <summary>Rules across pins and fields the attributes cannot say; all problems are reported together.</summary>
internal sealed class GpioOptionsCrossValidator : IValidateOptions<GpioOptions>
{
    public ValidateOptionsResult Validate(string? name, GpioOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (var i = 0; i < options.Triggers.Count; i++)
        {
            var trigger = options.Triggers[i];
            if (!Enum.IsDefined(trigger.Edge) || !Enum.IsDefined(trigger.Action) || !Enum.IsDefined(trigger.Mode))
            {
                failures.Add($"EdgeMl:Gpio:Triggers:{i} (pin {trigger.Pin}): Edge must be Rising, Falling or Both; Action Infer or Event; Mode Input, InputPullUp or InputPullDown.");
            }

            if (trigger.Action == GpioAction.Infer && string.IsNullOrWhiteSpace(trigger.Model))
            {
                failures.Add($"EdgeMl:Gpio:Triggers:{i} (pin {trigger.Pin}): Action Infer needs a Model to run.");
            }
        }

        for (var i = 0; i < options.Lights.Count; i++)
        {
            if (!Enum.IsDefined(options.Lights[i].Signal))
            {
                failures.Add($"EdgeMl:Gpio:Lights:{i} (pin {options.Lights[i].Pin}): Signal must be Serving, Degraded, Error, Updating or Any.");
            }
        }

        var pins = options.Triggers.Select(t => (t.Pin, Use: "trigger")).Concat(options.Lights.Select(l => (l.Pin, Use: "light")));
        foreach (var group in pins.GroupBy(p => p.Pin).Where(g => g.Count() > 1))
        {
            failures.Add($"EdgeMl:Gpio: pin {group.Key} is configured more than once ({string.Join(", ", group.Select(p => p.Use))}); each pin has one use.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

