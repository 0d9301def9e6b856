using EdgeMl.Agent.Drift;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>A drift signal that never says a model drifts, for capture tests that are not about drift.</summary>
internal sealed class NoDrift : IDriftSignal
{
    public static readonly NoDrift Instance = new();

    public bool IsDrifting(string model) => false;
}
