namespace EdgeMl.Agent.Desired;

/// <summary>
/// How a newly promoted version proves itself against the previous good one on live traffic (a model's
/// <c>probation</c> entry). Every threshold is a ceiling; a breach once <see cref="MinRequests"/> have run rolls back.
/// </summary>
internal sealed record ProbationSettings
{
    public static ProbationSettings Default { get; } = new();

    public bool Enabled { get; init; } = true;

    /// <summary>How long a version stays on probation; it passes once this has elapsed and <see cref="MinRequests"/> have run.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>No verdict on fewer requests than this: a handful of calls says nothing about a rate or a p95.</summary>
    public int MinRequests { get; init; } = 200;

    /// <summary>The highest share of requests the version may fail (engine errors, not the caller's bad inputs).</summary>
    public double MaxErrorRate { get; init; } = 0.05;

    /// <summary>How far the error rate may rise above the previous version's recent rate (0.01 = one percentage point).</summary>
    public double MaxErrorRateIncrease { get; init; } = 0.01;

    /// <summary>The highest p95 latency as a multiple of the previous version's recent p95.</summary>
    public double MaxP95Ratio { get; init; } = 1.5;

    /// <summary>
    /// A p95 breach also needs the p95 this many milliseconds above the previous version's: on a fast model a busy
    /// neighbour alone doubles a sub-millisecond p95, and that is no reason to take a version back.
    /// </summary>
    public double MinP95IncreaseMs { get; init; } = 5;

    /// <summary>The highest population stability index of any output against the previous version's last window.</summary>
    public double MaxPsi { get; init; } = 0.25;

    /// <summary>The most the process's working set may grow since the swap, in MiB.</summary>
    public double MaxMemoryGrowthMb { get; init; } = 512;
}

/// <summary>A version that runs beside the active one on a sampled copy of live requests (a model's <c>shadow</c> entry).</summary>
internal sealed record ShadowSettings
{
    public long Version { get; init; }

    /// <summary>The share of live requests copied to the shadow.</summary>
    public double SampleRate { get; init; } = 0.1;

    /// <summary>Agreement needed for promotion, 0 to 1; null never promotes (the shadow is only measured).</summary>
    public double? PromoteAgreement { get; init; } = 0.98;

    /// <summary>Compared samples needed before <see cref="PromoteAgreement"/> is judged.</summary>
    public int PromoteSamples { get; init; } = 500;

    /// <summary>Largest absolute difference of any output element that still counts as agreeing (non-classifier outputs).</summary>
    public double Tolerance { get; init; } = 1e-3;

    /// <summary>The share of one core the shadow may use; copies beyond it are dropped and counted.</summary>
    public double CpuBudget { get; init; } = 0.25;
}
