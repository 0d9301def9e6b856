using System.Globalization;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// SIGKILL at random instants of the real <c>edgeml model pull</c>. The suite runs a modest count; set
/// EDGEML_CRASH_ITERATIONS=1000 (and EDGEML_CRASH_SEED) to run the long version.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class CrashSafetyTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task PullAndActivate_KilledAtRandomInstants_AlwaysOldOrNewVersionIntactAndNoDebris()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("EDGEML_CRASH_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 12;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EDGEML_CRASH_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 20261124;

        var report = await new CrashHarness(_temp.Path, seed).RunAsync(iterations, output.WriteLine);

        var summary = $"[figure] crash harness: {report.Iterations} iterations, {report.Killed} killed mid-run, {report.FinishedFirst} finished first; " +
            $"afterwards v1 active {report.OldActive}, v2 active {report.NewActive}; {report.BadStates.Count} bad states";
        output.WriteLine(summary);
        output.WriteLine("kills by phase: " + string.Join("; ", report.KillPhases.Select(p => $"{p.Key}: {p.Value}")));
        Console.WriteLine(summary);
        Console.WriteLine("[figure] kills by phase: " + string.Join("; ", report.KillPhases.Select(p => $"{p.Key}: {p.Value}")));
        Assert.True(report.BadStates.Count == 0, string.Join(Environment.NewLine, report.BadStates.Take(20)));
        Assert.Equal(report.Iterations, report.OldActive + report.NewActive);
    }
}
