using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Probation;

/// <summary>Probation verdicts and shadow traffic.</summary>
internal sealed class ProvingMetrics
{
    public const string MeterName = "EdgeMl.Probation";

    public ProvingMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Rollbacks = meter.CreateCounter<long>("edgeml.probation.rollbacks", description: "Versions rolled back by themselves after breaching a probation threshold");
        Passed = meter.CreateCounter<long>("edgeml.probation.passed", description: "Versions that passed probation and became good");
        ShadowCompared = meter.CreateCounter<long>("edgeml.shadow.compared", description: "Shadow copies run and compared with the active version's answer");
        ShadowDropped = meter.CreateCounter<long>("edgeml.shadow.dropped", description: "Shadow copies dropped (reason: full, budget)");
        ShadowPromotions = meter.CreateCounter<long>("edgeml.shadow.promotions", description: "Shadows promoted after meeting promoteWhen");
    }

    public Counter<long> Rollbacks { get; }

    public Counter<long> Passed { get; }

    public Counter<long> ShadowCompared { get; }

    public Counter<long> ShadowDropped { get; }

    public Counter<long> ShadowPromotions { get; }
}
