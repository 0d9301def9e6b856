using EdgeMl.Runtime.Providers;

namespace EdgeMl.Runtime.Tests.Providers;

/// <summary>A device as the test describes it: every provider's libraries load and its device is visible unless told otherwise.</summary>
internal sealed class FakeProbe : IProviderProbe
{
    public static FakeProbe AllPresent => new();

    public Dictionary<string, string> Libraries { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Devices { get; } = new(StringComparer.Ordinal);

    public string? MissingLibraries(string provider) => Libraries.GetValueOrDefault(provider);

    public string? MissingDevice(string provider, int deviceId) => Devices.GetValueOrDefault(provider);
}
