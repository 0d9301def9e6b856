namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>A fact that drives Debian's Chromium; skipped, with the reason, where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Executable = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable))
        {
            Skip = $"{Executable} is missing; scripts/setup.d/chromium.sh installs Debian's chromium package";
        }
    }
}
