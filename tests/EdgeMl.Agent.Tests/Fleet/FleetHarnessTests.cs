using EdgeMl.FleetHarness;
using EdgeMl.Testing;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.Fleet;

/// <summary>
/// The fleet harness behind <c>./scripts/bench.sh fleet</c>, run small so it cannot rot: three real agents, one of
/// them a canary, a staged rollout under load, a hub restart. Its timings are figures for docs/benchmarks.md, never asserted.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class FleetHarnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Run_ThreeAgents_StagedRolloutConvergesWithNoFailedRequestAndEveryAgentReconnects()
    {
        var options = new FleetOptions
        {
            Agents = 3,
            CanaryShare = 0.34,
            StartConcurrency = 3,
            LoadCallers = 1,
            HubDowntime = TimeSpan.FromSeconds(1),
            SteadyWindow = TimeSpan.FromSeconds(1),
            PhaseTimeout = TimeSpan.FromMinutes(5),
        };
        // Three agents need no 2 min reconnect spread (it is sized for 10,000); the restart stays short.
        options.AgentSettings.Add("--EdgeMl:IoTHub:ReconnectSpread=00:00:03");
        using var log = new StringWriter();

        var report = await new FleetRollout(options, log).RunAsync(CancellationToken.None);
        output.WriteLine(log.ToString());
        output.WriteLine(report.ToMarkdown("test"));

        Assert.Equal((1, 1), (report.Canary.Devices, report.Canary.Convergence.Count));
        Assert.Equal((2, 2), (report.Everyone.Devices, report.Everyone.Convergence.Count));
        Assert.Empty(report.FailedRequests);
        Assert.True(report.Requests > 0 && report.AnsweredByV1 + report.AnsweredByV2 == report.Requests, $"{report.Requests} requests");
        Assert.True(report.AnsweredByV2 > 0);
        Assert.Equal(3, report.Reconnects.Count);
        Assert.Equal(3, report.AfterRestart.Connections);
        // Each converged agent acknowledged v2 in a reported patch, and the counters saw it.
        Assert.True(report.DuringRollout.ReportedPatches >= 3, $"{report.DuringRollout.ReportedPatches} reported patches");
    }
}
