namespace EdgeMl.Agent.EdgeHub;

/// <summary>The agent's edgeHub module input and outputs, as deployment routes name them.</summary>
internal static class ModuleEndpoints
{
    public const string InferInput = "infer";
    public const string PredictionsOutput = "predictions";
    public const string EventsOutput = "events";
}
