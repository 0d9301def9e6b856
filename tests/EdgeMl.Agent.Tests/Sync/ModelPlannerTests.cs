using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Sync;

namespace EdgeMl.Agent.Tests.Sync;

/// <summary>Every decision model sync makes, as rows: what is desired, installed, active and remembered, and the step.</summary>
public sealed class ModelPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 2, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Poll = TimeSpan.FromMinutes(5);
    private static readonly DesiredModel Latest = new();
    private static readonly DesiredModel V3 = new() { Version = 3 };
    private static readonly DesiredModel V3Pinned = new() { Version = 3, Pinned = true };
    private static readonly DesiredModel V3OnCuda = new() { Version = 3, Providers = ["cuda"] };

    private static readonly Dictionary<string, (ModelDesire Desired, long[] Installed, long? Active, ModelHistory History, ModelStep Expected)> NextRows = new()
    {
        ["no longer desired"] = (Desire(null), [3], 3, ModelHistory.Empty, new ModelStep.Unload()),
        ["backing off"] = (Desire(V3), [], null, History(next: Now.AddSeconds(30)), new ModelStep.WaitUntil(Now.AddSeconds(30))),
        ["due exactly now"] = (Desire(V3), [], null, History(next: Now), new ModelStep.Pull(3, false)),
        ["held by an operator"] = (Desire(V3), [1, 2, 3], 3, History(held: 2), new ModelStep.ServeInstalled(2, Now + Poll)),
        ["desired version active"] = (Desire(V3), [2, 3], 3, ModelHistory.Empty, new ModelStep.ServeInstalled(3, DateTimeOffset.MaxValue)),
        ["desired version active, registry unusable"] = (Desire(V3, "registry 'x' is not usable: bad"), [3], 3, ModelHistory.Empty, new ModelStep.ServeInstalled(3, DateTimeOffset.MaxValue)),
        ["desired version active but its folder gone"] = (Desire(V3), [2], 3, ModelHistory.Empty, new ModelStep.Pull(3, false)),
        ["desired version installed, not active, no registry"] = (Desire(V3, "no registry is configured"), [2, 3], 2, ModelHistory.Empty, new ModelStep.ServeInstalled(3, DateTimeOffset.MaxValue)),
        ["latest, no registry, active installed"] = (Desire(Latest, "no registry is configured"), [2], 2, ModelHistory.Empty, new ModelStep.ServeInstalled(2, Now + Poll)),
        ["desired version missing, no registry"] = (Desire(V3, "no registry is configured"), [2], 2, ModelHistory.Empty, new ModelStep.Fail(3, "v3 is not installed and no registry is configured", Now + Poll)),
        ["latest, nothing installed, no registry"] = (Desire(Latest, "no registry is configured"), [], null, ModelHistory.Empty, new ModelStep.Fail(null, "nothing is installed and no registry is configured", Now + Poll)),
        ["desired version missing, registry"] = (Desire(V3), [2], 2, ModelHistory.Empty, new ModelStep.Pull(3, false)),
        ["pinned downgrade, registry"] = (Desire(V3Pinned), [4], 4, ModelHistory.Empty, new ModelStep.Pull(3, true)),
        ["latest, registry"] = (Desire(Latest), [2], 2, ModelHistory.Empty, new ModelStep.Pull(null, false)),
    };

    private static readonly Dictionary<string, (ModelDesire Desired, ModelHistory History, ModelStep Expected)> PulledRows = new()
    {
        ["pinned version pulled"] = (Desire(V3), ModelHistory.Empty, new ModelStep.ServeInstalled(3, DateTimeOffset.MaxValue)),
        ["latest pulled"] = (Desire(Latest), ModelHistory.Empty, new ModelStep.ServeInstalled(3, Now + Poll)),
        ["refused before with these settings"] = (Desire(V3), History(refused: (3, V3, "v3 refused at golden")), new ModelStep.Refuse(3, "v3 refused at golden", DateTimeOffset.MaxValue)),
        ["refused before, settings changed since"] = (Desire(V3OnCuda), History(refused: (3, V3, "v3 refused at golden")), new ModelStep.ServeInstalled(3, DateTimeOffset.MaxValue)),
        ["another version refused before"] = (Desire(Latest), History(refused: (2, Latest, "v2 refused")), new ModelStep.ServeInstalled(3, Now + Poll)),
    };

    private static readonly Dictionary<string, (long? Active, long? Previous, long[] Installed, ModelStep Expected)> RollBackRows = new()
    {
        ["previous on disk"] = (3, 2, [2, 3], new ModelStep.RollBack(3, 2)),
        ["previous removed"] = (3, 2, [3], new ModelStep.Fail(3, "m has no previous good version on disk to roll back to", DateTimeOffset.MinValue)),
        ["no previous"] = (3, null, [3], new ModelStep.Fail(3, "m has no previous good version on disk to roll back to", DateTimeOffset.MinValue)),
        ["nothing active"] = (null, null, [], new ModelStep.Fail(null, "m has no previous good version on disk to roll back to", DateTimeOffset.MinValue)),
    };

    public static TheoryData<string> Situations() => [.. NextRows.Keys];

    public static TheoryData<string> PulledSituations() => [.. PulledRows.Keys];

    public static TheoryData<string> RollBackSituations() => [.. RollBackRows.Keys];

    [Theory]
    [MemberData(nameof(Situations))]
    public void Next_EachSituation_PlansItsStep(string situation)
    {
        var row = NextRows[situation];

        Assert.Equal(row.Expected, ModelPlanner.Next(row.Desired, row.Installed, row.Active, row.History, Now));
    }

    [Theory]
    [MemberData(nameof(PulledSituations))]
    public void Pulled_EachSituation_ServesOrRefuses(string situation)
    {
        var row = PulledRows[situation];

        Assert.Equal(row.Expected, ModelPlanner.Pulled(3, row.Desired, row.History, Now));
    }

    [Theory]
    [MemberData(nameof(RollBackSituations))]
    public void RollBack_EachSituation_GoesBackOrSaysWhyNot(string situation)
    {
        var row = RollBackRows[situation];

        Assert.Equal(row.Expected, ModelPlanner.RollBack("m", row.Active, row.Previous, row.Installed));
    }

    [Fact]
    public void Steps_EveryKind_HasARow()
    {
        var planned = NextRows.Values.Select(r => r.Expected).Concat(PulledRows.Values.Select(r => r.Expected)).Concat(RollBackRows.Values.Select(r => r.Expected))
            .Select(s => s.GetType()).ToHashSet();
        var kinds = typeof(ModelStep).GetNestedTypes().Where(t => t.IsSubclassOf(typeof(ModelStep)));

        Assert.All(kinds, kind => Assert.Contains(kind, planned));
    }

    private static ModelDesire Desire(DesiredModel? model, string? registryProblem = null) => new(model, Poll, registryProblem);

    private static ModelHistory History(DateTimeOffset? next = null, long? held = null, (long, DesiredModel, string)? refused = null) =>
        new(held, next ?? DateTimeOffset.MinValue, 0, refused);
}
