using System.Collections.Concurrent;
using System.Text.Json.Serialization;

namespace EdgeMl.Agent.Probation;

/// <summary>Where a model's newest version stands: on probation, passed (good), or rolled back.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProbationPhase>))]
internal enum ProbationPhase
{
    [JsonStringEnumMemberName("onProbation")]
    OnProbation,

    [JsonStringEnumMemberName("passed")]
    Passed,

    [JsonStringEnumMemberName("rolledBack")]
    RolledBack,
}

/// <summary>Probation and shadows in the health document (<c>proving</c>): on every transport, the twin and the page.</summary>
internal sealed record ProvingHealth(IReadOnlyList<ProbationState> Probation, IReadOnlyList<ShadowState> Shadows);

/// <summary>One model's probation as health, the twin and the page show it.</summary>
internal sealed record ProbationState(string Model, long Version, long? Previous, ProbationPhase Phase, long Requests, string Message, DateTimeOffset Since);

/// <summary>One model's shadow as health, the twin and the page show it.</summary>
/// <param name="Agreement">Share of compared samples on which the shadow agreed with the active version.</param>
/// <param name="Dropped">Copies not run: the hand-off was full or the shadow's CPU budget was spent.</param>
internal sealed record ShadowState(
    string Model, long Version, long ActiveVersion, long Compared, long Agreed, long Dropped, double? ActiveP95Ms, double? ShadowP95Ms, string Message)
{
    public double? Agreement => Compared == 0 ? null : (double)Agreed / Compared;
}

/// <summary>Probation and shadow figures per model, written by their services and read by every reporter. Thread-safe.</summary>
internal sealed class ProvingStatus
{
    private readonly ConcurrentDictionary<string, ProbationState> _probation = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ShadowState> _shadows = new(StringComparer.Ordinal);

    public IReadOnlyList<ProbationState> Probation => [.. _probation.Values.OrderBy(p => p.Model, StringComparer.Ordinal)];

    public IReadOnlyList<ShadowState> Shadows => [.. _shadows.Values.OrderBy(s => s.Model, StringComparer.Ordinal)];

    /// <summary>Null when no model has a probation or a shadow yet, so the health document stays as it was.</summary>
    public ProvingHealth? Health() => _probation.IsEmpty && _shadows.IsEmpty ? null : new(Probation, Shadows);

    public ProbationState? ProbationOf(string model) => _probation.GetValueOrDefault(model);

    public ShadowState? ShadowOf(string model) => _shadows.GetValueOrDefault(model);

    public void Set(ProbationState state) => _probation[state.Model] = state;

    public void Set(ShadowState state) => _shadows[state.Model] = state;

    public void RemoveShadow(string model) => _shadows.TryRemove(model, out _);

    public void Remove(string model)
    {
        _probation.TryRemove(model, out _);
        _shadows.TryRemove(model, out _);
    }
}
