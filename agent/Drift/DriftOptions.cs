using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Drift;

/// <summary>How drift is measured on the device (configuration section <c>Drift</c>).</summary>
public sealed class DriftOptions
{
    public const string Section = "Drift";

    public bool Enabled { get; set; } = true;

    /// <summary>PSI at or above which drift is moderate (the usual 0.1).</summary>
    [Range(0.0, 10.0)]
    public double ModeratePsi { get; set; } = 0.1;

    /// <summary>PSI at or above which drift is significant (the usual 0.2).</summary>
    [Range(0.0, 10.0)]
    public double SignificantPsi { get; set; } = 0.2;

    /// <summary>How much recent traffic is compared with the baseline.</summary>
    [TimeSpanRange("00:01:00", "7.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Slices of the window; observations leave the window one slice at a time.</summary>
    [Range(1, 1440)]
    public int WindowSlices { get; set; } = 12;

    /// <summary>Observations a distribution needs in the window before it is judged.</summary>
    [Range(1, 10_000_000)]
    public int MinSamples { get; set; } = 200;

    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The level from which capture samples at its drifting rate.</summary>
    public DriftLevel AdaptiveCaptureLevel { get; set; } = DriftLevel.Moderate;
}

[OptionsValidator]
internal sealed partial class DriftOptionsValidator : IValidateOptions<DriftOptions>;

/// <summary>Rules across fields.</summary>
internal sealed class DriftOptionsRules : IValidateOptions<DriftOptions>
{
    public ValidateOptionsResult Validate(string? name, DriftOptions options) =>
        options.ModeratePsi <= options.SignificantPsi
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{DriftOptions.Section}:ModeratePsi ({options.ModeratePsi}) must not exceed {DriftOptions.Section}:SignificantPsi ({options.SignificantPsi}).");
}

/// <summary>How far recent traffic has moved from the baseline; ordered.</summary>
public enum DriftLevel
{
    /// <summary>Too few observations in the window to judge.</summary>
    Unknown,
    None,
    Moderate,
    Significant,
}
