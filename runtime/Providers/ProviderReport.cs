namespace EdgeMl.Runtime.Providers;

/// <summary>Where one provider of a model's chain stands, from "not in this build" to "in use".</summary>
public enum ProviderState
{
    /// <summary>The provider runs the model's nodes (all of them, or those the providers before it left).</summary>
    InUse,

    /// <summary>This ONNX Runtime build does not have the provider (or the name is not a provider at all).</summary>
    NotInBuild,

    /// <summary>The build has it, but its native libraries (CUDA, cuDNN, TensorRT…) do not load; the reason names them.</summary>
    LibrariesMissing,

    /// <summary>Its libraries load, but the driver sees no device for it (no GPU, or none passed into the container).</summary>
    NoDevice,

    /// <summary>A device is visible, but the provider failed to start on it or to create the session; the reason is ONNX Runtime's.</summary>
    InitFailed,

    /// <summary>TensorRT started and is building its engine in the background while the rest of the chain serves.</summary>
    Building,

    /// <summary>Not tried: under <see cref="ProviderPolicy.Strict"/> the first provider runs every node or the model is refused.</summary>
    NotTried,
}

/// <summary>A provider of the chain that could not be used, what stopped it, and why in words an operator can act on.</summary>
public sealed record ProviderSkip(string Provider, ProviderState State, string Reason);

/// <summary>One provider of a model's chain and where it stands.</summary>
public sealed record ProviderOutcome(string Provider, ProviderState State, string? Reason);

/// <summary>What the provider chain of a loaded model resolved to.</summary>
public sealed record ProviderReport(
    IReadOnlyList<string> Requested,
    IReadOnlyList<string> Applied,
    IReadOnlyList<ProviderSkip> Skipped,
    ProviderPolicy Policy)
{
    /// <summary>The provider that runs the model (the first applied; ONNX Runtime gives the CPU what others cannot take).</summary>
    public string Effective => Applied.Count > 0 ? Applied[0] : ProviderNames.Cpu;

    /// <summary>True when the model does not run on the first provider asked for.</summary>
    public bool IsDegraded => Requested.Count > 0 && !string.Equals(Requested[0], Effective, StringComparison.OrdinalIgnoreCase);

    public string? DegradedReason => IsDegraded
        ? $"{Requested[0]} unavailable ({Skipped.FirstOrDefault(s => s.Provider == Requested[0])?.Reason ?? "not applied"}); running on {Effective}"
        : null;

    /// <summary>Each provider asked for, in chain order, with exactly one state; the CPU ONNX Runtime adds on its own is not listed.</summary>
    public IReadOnlyList<ProviderOutcome> Chain => Requested.Distinct(StringComparer.Ordinal).Select(p =>
        Skipped.FirstOrDefault(s => s.Provider == p) is { } skip ? new ProviderOutcome(p, skip.State, skip.Reason)
        : Applied.Contains(p) ? new ProviderOutcome(p, ProviderState.InUse, null)
        : new ProviderOutcome(p, ProviderState.NotTried, null)).ToArray();

    /// <summary>How many graph nodes each provider ran in a profiled run; empty when profiling was off.</summary>
    public IReadOnlyDictionary<string, int> NodesByProvider { get; init; } = new Dictionary<string, int>();
}

/// <summary>The first provider of a <c>require</c> or <c>strict</c> chain cannot be used.</summary>
public sealed class ProviderUnavailableException(string message) : Exception(message);
