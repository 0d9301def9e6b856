namespace EdgeMl.Runtime.Providers;

/// <summary>A provider of the chain that could not be used, and why.</summary>
public sealed record ProviderSkip(string Provider, string Reason);

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

    /// <summary>How many graph nodes each provider ran in a profiled run; empty when profiling was off.</summary>
    public IReadOnlyDictionary<string, int> NodesByProvider { get; init; } = new Dictionary<string, int>();
}

/// <summary>The first provider of a <c>require</c> chain is missing.</summary>
public sealed class ProviderUnavailableException(string message) : Exception(message);
