using EdgeMl.Runtime.Serving;

namespace EdgeMl.Agent.Gpio;

/// <summary>The agent's overall state as one signal, for status lights.</summary>
internal enum AgentSignal
{
    Serving,
    Degraded,
    Error,
    Updating,

    /// <summary>Nothing is served (no model configured yet).</summary>
    Off,
}

internal interface IAgentStatusSignal
{
    AgentSignal Current { get; }
}

/// <summary>
/// The signal computed from the engine's model statuses. The worst wins: a failed model (Error) over a load or
/// background engine build (Updating) over a fallback provider (Degraded) over serving.
/// </summary>
internal sealed class EngineStatusSignal(InferenceEngine engine) : IAgentStatusSignal
{
    public AgentSignal Current => From(engine.GetStatuses());

    public static AgentSignal From(IReadOnlyList<ModelStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        if (statuses.Count == 0)
        {
            return AgentSignal.Off;
        }

        if (statuses.Any(s => s.State == ModelState.Failed))
        {
            return AgentSignal.Error;
        }

        if (statuses.Any(s => s.State == ModelState.Loading || s.LoadingVersion is not null || s.Building is not null))
        {
            return AgentSignal.Updating;
        }

        return statuses.Any(s => s.Providers?.IsDegraded == true) ? AgentSignal.Degraded : AgentSignal.Serving;
    }
}
