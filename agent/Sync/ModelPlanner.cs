using EdgeMl.Agent.Desired;

namespace EdgeMl.Agent.Sync;

/// <summary>What model sync does next for one model; <see cref="ModelSync"/> carries it out.</summary>
internal abstract record ModelStep
{
    private ModelStep()
    {
    }

    /// <summary>Serve a version already on disk; the next look is due at <paramref name="NextAttempt"/>.</summary>
    public sealed record ServeInstalled(long Version, DateTimeOffset NextAttempt) : ModelStep;

    /// <summary>Ask the registry for the version (null: the latest) and install it.</summary>
    public sealed record Pull(long? Version, bool Pinned) : ModelStep;

    /// <summary>Nothing to do before <paramref name="Due"/> (a back-off, a poll interval).</summary>
    public sealed record WaitUntil(DateTimeOffset Due) : ModelStep;

    /// <summary>The version was refused before with these settings; it is not tried again until they change.</summary>
    public sealed record Refuse(long Version, string Reason, DateTimeOffset NextAttempt) : ModelStep;

    /// <summary>Nothing can serve: nothing suitable is installed and there is no usable registry.</summary>
    public sealed record Fail(long? Version, string Reason, DateTimeOffset NextAttempt) : ModelStep;

    /// <summary>The model is no longer desired: stop serving it and forget it.</summary>
    public sealed record Unload : ModelStep;

    /// <summary>Go back to the previous good version on disk.</summary>
    public sealed record RollBack(long From, long To) : ModelStep;
}

/// <summary>What model sync remembers of one model between passes.</summary>
/// <param name="Override">A version an operator activated or rolled back to; holds until the desired entry changes.</param>
/// <param name="Refusal">The last version refused, with the settings it was refused under.</param>
internal sealed record ModelHistory(long? Override, DateTimeOffset NextAttempt, int Failures, (long Version, DesiredModel Settings, string Message)? Refusal)
{
    public static readonly ModelHistory Empty = new(null, DateTimeOffset.MinValue, 0, null);

    /// <summary>A refused version is not tried again with the same settings; new settings may let it load.</summary>
    public bool IsRefused(long version, DesiredModel model) =>
        Refusal is { } r && r.Version == version && r.Settings.SameRuntimeSettings(model);
}

/// <summary>The desired side of one model: its entry (null when no longer desired) and the registry to pull from.</summary>
/// <param name="RegistryProblem">Why there is no registry to pull from (none configured, not usable); null when there is one.</param>
internal sealed record ModelDesire(DesiredModel? Model, TimeSpan PollInterval, string? RegistryProblem);

/// <summary>
/// Model sync's decisions, apart from its actions: given the desired entry, what is installed and active, what
/// happened before and the time, the next <see cref="ModelStep"/>. Pure, so every branch has a row in a table test.
/// </summary>
internal static class ModelPlanner
{
    public static ModelStep Next(ModelDesire desired, IReadOnlyCollection<long> installed, long? active, ModelHistory history, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(installed);
        ArgumentNullException.ThrowIfNull(history);
        if (desired.Model is not { } model)
        {
            return new ModelStep.Unload();
        }

        if (history.NextAttempt > now)
        {
            return new ModelStep.WaitUntil(history.NextAttempt);
        }

        var nextPoll = now + desired.PollInterval;
        if (history.Override is { } held)
        {
            return new ModelStep.ServeInstalled(held, nextPoll);
        }

        if (model.Version is { } wanted && active == wanted && installed.Contains(wanted))
        {
            // The desired version is already the accepted, active one: serving it needs no registry, and an
            // unreachable registry (a restart offline) is then no failure to report.
            return new ModelStep.ServeInstalled(wanted, DateTimeOffset.MaxValue);
        }

        if (desired.RegistryProblem is { } problem)
        {
            var target = model.Version ?? active;
            return target is { } version && installed.Contains(version)
                ? new ModelStep.ServeInstalled(version, Following(model, nextPoll))
                : new ModelStep.Fail(model.Version, $"{(target is { } t ? $"v{t} is not installed" : "nothing is installed")} and {problem}", nextPoll);
        }

        return new ModelStep.Pull(model.Version, model.Pinned);
    }

    /// <summary>After a pull installed <paramref name="pulled"/>: serve it, unless it was refused under these settings.</summary>
    public static ModelStep Pulled(long pulled, ModelDesire desired, ModelHistory history, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(desired.Model);
        ArgumentNullException.ThrowIfNull(history);
        var next = Following(desired.Model, now + desired.PollInterval);
        return history.IsRefused(pulled, desired.Model)
            ? new ModelStep.Refuse(pulled, history.Refusal!.Value.Message, next)
            : new ModelStep.ServeInstalled(pulled, next);
    }

    /// <summary>An operator's rollback: to the previous good version if it is still on disk, else refused.</summary>
    public static ModelStep RollBack(string model, long? active, long? previous, IReadOnlyCollection<long> installed)
    {
        ArgumentNullException.ThrowIfNull(installed);
        return active is { } from && previous is { } to && installed.Contains(to)
            ? new ModelStep.RollBack(from, to)
            : new ModelStep.Fail(active, $"{model} has no previous good version on disk to roll back to", DateTimeOffset.MinValue);
    }

    /// <summary>A model that follows <c>latest</c> is polled; a pinned version is not looked at again until the entry changes.</summary>
    private static DateTimeOffset Following(DesiredModel model, DateTimeOffset nextPoll) => model.Version is null ? nextPoll : DateTimeOffset.MaxValue;
}
