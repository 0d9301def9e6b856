using EdgeMl.Agent.Desired;

namespace EdgeMl.Agent.Sync;

/// <summary>What model sync knows of one desired model between passes: its turn, back-off, hold and last refusal.</summary>
internal sealed class ModelWork(DesiredModel desired)
{
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public DesiredModel Desired { get; set; } = desired;

    public DateTimeOffset NextAttempt { get; set; } = DateTimeOffset.MinValue;

    public int Failures { get; set; }

    /// <summary>A version an operator activated or rolled back to; holds until the desired entry changes.</summary>
    public long? Override { get; set; }

    public long? ServingVersion { get; set; }

    public DesiredModel? ServingSettings { get; set; }

    public (long Version, DesiredModel Settings, string Message)? Refusal { get; set; }

    public string? RefusalReason => Refusal?.Message;

    /// <summary>What the planner reads of this model.</summary>
    public ModelHistory History => new(Override, NextAttempt, Failures, Refusal);

    public bool IsRefused(long version, DesiredModel model) => History.IsRefused(version, model);
}
