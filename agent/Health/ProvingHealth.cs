using System.Text.Json.Serialization;

namespace EdgeMl.Agent.Health;

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
