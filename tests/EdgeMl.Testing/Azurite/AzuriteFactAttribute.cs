using Xunit;

namespace EdgeMl.Testing.Azurite;

/// <summary>A fact that needs Azurite; skipped, with the reason, where it is not installed.</summary>
public sealed class AzuriteFactAttribute : FactAttribute
{
    public AzuriteFactAttribute()
    {
        if (AzuriteServer.Unavailable() is { } reason)
        {
            Skip = reason;
        }
    }
}
