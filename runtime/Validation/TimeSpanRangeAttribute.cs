using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace EdgeMl.Runtime.Validation;

/// <summary>
/// A time span between <paramref name="minimum"/> and <paramref name="maximum"/> (both "[d.]hh:mm:ss[.fff]"), inclusive.
/// <see cref="RangeAttribute"/> with a type converts its bounds through reflection (<c>TypeDescriptor</c>), which
/// trimming and Native AOT cannot follow; this one parses them itself. Same message as <see cref="RangeAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
public sealed class TimeSpanRangeAttribute(string minimum, string maximum)
    : ValidationAttribute("The field {0} must be between {1} and {2}.")
{
    public TimeSpan Minimum { get; } = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);

    public TimeSpan Maximum { get; } = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);

    /// <summary>Null passes, as with <see cref="RangeAttribute"/>; <see cref="RequiredAttribute"/> says whether a value must be there.</summary>
    public override bool IsValid(object? value) => value is null || (value is TimeSpan t && t >= Minimum && t <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, minimum, maximum);
}
