using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Serving;

public enum ModelState
{
    /// <summary>The first version is loading; nothing is served yet.</summary>
    Loading,

    /// <summary>A version is served.</summary>
    Ready,

    /// <summary>No version could be made ready.</summary>
    Failed,
}

/// <summary>Why a version was refused, and when.</summary>
public sealed record ModelFailure(long Version, ModelLoadStage Stage, string Reason, DateTimeOffset At);

/// <summary>What the runtime serves under one model name.</summary>
public sealed record ModelStatus(
    string Name,
    ModelState State,
    long? Version,
    ModelSignature? Signature,
    ProviderReport? Providers,
    DateTimeOffset? ActivatedAt,
    long? LoadingVersion,
    ModelFailure? LastFailure)
{
    /// <summary>A provider whose engine is being built in the background while the model serves on another.</summary>
    public string? Building { get; init; }

    /// <summary>The serving version's state pairs, for the front doors' sequences.</summary>
    public IReadOnlyList<Sessions.StatePair> States { get; init; } = [];

    /// <summary>What <c>batching: auto</c> serves with and why; null when the model's batching is fixed.</summary>
    public BatchingChoice? Batching { get; init; }
}

/// <summary>The outcome of activating a version: swapped in, or refused with the stage and reason.</summary>
public sealed record ActivationResult(string Model, long Version, long? PreviousVersion, ProviderReport? Providers, ModelFailure? Failure)
{
    public bool Succeeded => Failure is null;
}
