namespace EdgeMl.Agent.EdgeHub;

/// <summary>
/// The agent's edgeHub input and outputs. Deployment routes name them (<c>deployment*.template.json</c>), so a
/// rename here is a breaking change for every deployed manifest; the template tests keep both in step.
/// </summary>
internal static class ModuleEndpoints
{
    /// <summary>Open Inference Protocol requests routed to the agent (from a sensor or camera module).</summary>
    public const string InferInput = "infer";

    /// <summary>Inference results, sent upstream or to other modules.</summary>
    public const string PredictionsOutput = "predictions";

    /// <summary>Activations, rollbacks, drift and GPIO events.</summary>
    public const string EventsOutput = "events";

    public static IReadOnlyList<string> Inputs { get; } = [InferInput];

    public static IReadOnlyList<string> Outputs { get; } = [PredictionsOutput, EventsOutput];
}
