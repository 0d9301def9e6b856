using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeMl.Sensor;

/// <summary>What the simulated sensor sends (configuration section <c>Sensor</c>, env <c>Sensor__Interval</c> …).</summary>
internal sealed class SensorOptions
{
    public const string Section = "Sensor";

    /// <summary>Time between two frames.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Frames to send before stopping; 0 sends until the module stops (as SimulatedTemperatureSensor's MessageCount).</summary>
    [Range(0, int.MaxValue)]
    public int MessageCount { get; set; }

    /// <summary>The model the frames are for, sent as the <c>model</c> application property for routing.</summary>
    [Required]
    public string Model { get; set; } = "ocr-cls";

    /// <summary>The model's input tensor: the PaddleOCR direction classifier takes <c>x</c>, FP32 [1,3,48,192].</summary>
    [Required]
    public string InputName { get; set; } = "x";

    [Range(0, int.MaxValue)]
    public int Seed { get; set; } = 1;
}

[OptionsValidator]
internal sealed partial class SensorOptionsValidator : IValidateOptions<SensorOptions>;
