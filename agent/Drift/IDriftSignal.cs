namespace EdgeMl.Agent.Drift;

/// <summary>Tells capture whether a model is drifting, so it samples more.</summary>
internal interface IDriftSignal
{
    bool IsDrifting(string model);
}
