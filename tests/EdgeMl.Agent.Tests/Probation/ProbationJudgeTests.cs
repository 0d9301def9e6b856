using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Probation;

namespace EdgeMl.Agent.Tests.Probation;

public sealed class ProbationJudgeTests
{
    private static readonly ProbationSettings Settings = new()
    {
        Duration = TimeSpan.FromMinutes(10), MinRequests = 200, MaxErrorRate = 0.05, MaxErrorRateIncrease = 0.01, MaxP95Ratio = 1.5, MinP95IncreaseMs = 1, MaxPsi = 0.25, MaxMemoryGrowthMb = 512,
    };

    private static readonly Dictionary<string, double> NoPsi = [];

    // name, candidate requests/errors/p95 ms/PSI (-1: none), baseline requests/errors (0 requests: none), minutes elapsed, memory growth MiB, verdict, message part
    public static TheoryData<string, long[], double[], long[], double[], string, string> Rows => new()
    {
        { "too few requests", [199, 199], [90, 0.9], [1000, 0], [20, 0], "Pending", "199 of 200 requests" },
        { "window still open", [412, 0], [1.1, 0.01], [1000, 0], [5, 0], "Pending", "5 min to go" },
        { "passes", [412, 1], [1.2, 0.05], [1000, 1], [10, 10], "Passed", "v3 passed probation after 412 requests: error rate 0.24 %, p95 1.20× v2, largest output PSI 0.05" },
        { "passes with nothing to compare", [412, 0], [1.2, -1], [0, 0], [11, 0], "Passed", "no recent figures of v2" },
        { "slower", [412, 0], [2.4, 0.01], [1000, 0], [1, 0], "Breached", "v3 rolled back after 412 requests: p95 2.4× v2 (2.4 ms vs 1 ms)" },
        { "slower by less than the least increase", [412, 0], [1.9, 0.01], [1000, 0], [1, 0], "Pending", "on probation" },
        { "slower, baseline too small to compare", [412, 0], [2.4, -1], [49, 0], [1, 0], "Pending", "on probation" },
        { "error rate above the ceiling", [400, 40], [1, -1], [1000, 0], [1, 0], "Breached", "error rate 10 % (limit 5 %)" },
        { "error rate risen above the previous", [400, 12], [1, -1], [1000, 5], [1, 0], "Breached", "error rate 3 % vs v2's 0.5 %" },
        { "error rate risen within the allowance", [400, 3], [1, -1], [1000, 5], [1, 0], "Pending", "on probation" },
        { "outputs shifted", [300, 0], [1, 0.8], [1000, 0], [1, 0], "Breached", "output y PSI 0.80 against v2 (limit 0.25)" },
        { "memory grew", [300, 0], [1, 0.01], [1000, 0], [1, 600], "Breached", "memory +600 MiB since the swap (limit 512 MiB)" },
        { "several breaches are all named", [300, 0], [3, 0.8], [1000, 0], [1, 0], "Breached", "p95 3.0× v2 (3 ms vs 1 ms); output y PSI 0.80" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Judges(string name, long[] counts, double[] figures, long[] baseline, double[] minutesAndMemory, string verdict, string contains)
    {
        var candidate = W(counts[0], counts[1], figures[0], figures[1] < 0 ? null : figures[1]);
        var previous = baseline[0] == 0 ? null : W(baseline[0], baseline[1], 1, null);
        var result = ProbationJudge.Judge(Settings, new ProbationFigures(3, 2, candidate, previous, TimeSpan.FromMinutes(minutesAndMemory[0]), minutesAndMemory[1]));

        Assert.True(verdict == result.GetType().Name, $"{name}: {result}");
        Assert.Contains(contains, result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.8, 10, "Breached", "v3 rolled back after 300 requests: output y PSI 0.80 against the package's output baseline (limit 0.25)")]
    [InlineData(0.05, 11, "Passed", "largest output PSI 0.05 against the package's output baseline")]
    public void Judges_OutputsAgainstThePackagesBaseline_SaysSo(double psi, double minutes, string verdict, string contains)
    {
        var candidate = W(300, 0, 1, psi) with { PsiAgainst = VersionWindow.PackageBaseline };
        var result = ProbationJudge.Judge(Settings, new ProbationFigures(3, 2, candidate, null, TimeSpan.FromMinutes(minutes), 0));

        Assert.Equal(verdict, result.GetType().Name);
        Assert.Contains(contains, result.Message, StringComparison.Ordinal);
    }

    private static WindowFigures W(long requests, long errors, double p95, double? psi) =>
        new(requests, errors, p95, psi is { } value ? new Dictionary<string, double> { ["y"] = value } : NoPsi, null);
}
