using System.Globalization;
using EdgeMl.Agent.Desired;

namespace EdgeMl.Agent.Probation;

/// <summary>What a version did on live traffic in a window: requests, engine errors, p95, the PSI of each output.</summary>
/// <param name="Psi">Each output's population stability index against <paramref name="PsiAgainst"/>; empty when there is nothing to compare.</param>
/// <param name="PsiAgainst">What the outputs were compared with: the previous version's last window (null), or the package's output baseline.</param>
internal sealed record WindowFigures(long Requests, long Errors, double? P95Ms, IReadOnlyDictionary<string, double> Psi, string? PsiAgainst)
{
    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;
}

/// <summary>A version on probation: its figures since the swap, the previous good version's recent ones, time and memory.</summary>
internal sealed record ProbationFigures(long Version, long Previous, WindowFigures Candidate, WindowFigures? Baseline, TimeSpan Elapsed, double MemoryGrowthMb);

/// <summary>The outcome of one look at a version on probation.</summary>
internal abstract record ProbationVerdict(string Message)
{
    private ProbationVerdict()
        : this(string.Empty)
    {
    }

    /// <summary>Not decided yet: too few requests, or the window is still open.</summary>
    public sealed record Pending(string Why) : ProbationVerdict(Why);

    /// <summary>The version ran its window within every threshold; it is now a good version.</summary>
    public sealed record Passed(string Summary) : ProbationVerdict(Summary);

    /// <summary>A threshold was breached: roll back, with the reason operators read (<c>v3 rolled back after 412 requests: p95 2.4× v2</c>).</summary>
    public sealed record Breached(string Reason) : ProbationVerdict(Reason);
}

/// <summary>
/// The verdict on a version on probation, apart from measuring and acting: pure, so every threshold has a row in a
/// table test. Nothing is judged on fewer than <see cref="ProbationSettings.MinRequests"/> requests; a comparison with
/// the previous version needs <see cref="MinBaselineRequests"/> of its requests too.
/// </summary>
internal static class ProbationJudge
{
    /// <summary>The fewest recent requests of the previous version its rate and p95 are compared with.</summary>
    public const int MinBaselineRequests = 50;

    public static ProbationVerdict Judge(ProbationSettings settings, ProbationFigures figures)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(figures);
        var candidate = figures.Candidate;
        var v = $"v{figures.Version}";
        var was = $"v{figures.Previous}";
        if (candidate.Requests < settings.MinRequests)
        {
            return new ProbationVerdict.Pending($"{v} on probation: {candidate.Requests} of {settings.MinRequests} requests");
        }

        var breaches = new List<string>();
        if (candidate.ErrorRate > settings.MaxErrorRate)
        {
            breaches.Add($"error rate {Percent(candidate.ErrorRate)} (limit {Percent(settings.MaxErrorRate)})");
        }

        var baseline = figures.Baseline is { Requests: >= MinBaselineRequests } b ? b : null;
        if (baseline is not null && candidate.ErrorRate - baseline.ErrorRate > settings.MaxErrorRateIncrease && candidate.ErrorRate <= settings.MaxErrorRate)
        {
            breaches.Add($"error rate {Percent(candidate.ErrorRate)} vs {was}'s {Percent(baseline.ErrorRate)}");
        }

        if (baseline is { P95Ms: > 0 } && candidate.P95Ms is { } p95 && p95 / baseline.P95Ms.Value > settings.MaxP95Ratio
            && p95 - baseline.P95Ms.Value > settings.MinP95IncreaseMs)
        {
            breaches.Add($"p95 {Number(p95 / baseline.P95Ms.Value, "0.0")}× {was} ({Number(p95, "0.##")} ms vs {Number(baseline.P95Ms.Value, "0.##")} ms)");
        }

        if (candidate.Psi.Count > 0 && candidate.Psi.MaxBy(p => p.Value) is var (output, psi) && psi > settings.MaxPsi)
        {
            breaches.Add($"output {output} PSI {Number(psi, "0.00")} against {candidate.PsiAgainst ?? was} (limit {Number(settings.MaxPsi, "0.00")})");
        }

        if (figures.MemoryGrowthMb > settings.MaxMemoryGrowthMb)
        {
            breaches.Add($"memory +{Number(figures.MemoryGrowthMb, "0")} MiB since the swap (limit {Number(settings.MaxMemoryGrowthMb, "0")} MiB)");
        }

        if (breaches.Count > 0)
        {
            return new ProbationVerdict.Breached($"{v} rolled back after {candidate.Requests} requests: {string.Join("; ", breaches)}");
        }

        if (figures.Elapsed < settings.Duration)
        {
            return new ProbationVerdict.Pending($"{v} on probation: {candidate.Requests} requests, {Remaining(settings.Duration - figures.Elapsed)} to go");
        }

        var compared = baseline is null ? $"no recent figures of {was} to compare with" : $"p95 {Ratio(candidate.P95Ms, baseline.P95Ms)}× {was}";
        var psiText = candidate.Psi.Count > 0
            ? $", largest output PSI {Number(candidate.Psi.Values.Max(), "0.00")}{(candidate.PsiAgainst is { } against ? $" against {against}" : "")}"
            : "";
        return new ProbationVerdict.Passed($"{v} passed probation after {candidate.Requests} requests: error rate {Percent(candidate.ErrorRate)}, {compared}{psiText}");
    }

    private static string Ratio(double? a, double? b) => a is { } x && b is > 0 ? Number(x / b.Value, "0.00") : "?";

    private static string Percent(double rate) => (rate * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Remaining(TimeSpan left) => left.TotalMinutes >= 1 ? $"{Math.Ceiling(left.TotalMinutes):0} min" : $"{Math.Ceiling(left.TotalSeconds):0} s";
}
