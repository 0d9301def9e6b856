using System.Globalization;
using System.Text;
using EdgeMl.IoTHubSimulator;

namespace EdgeMl.FleetHarness;

/// <summary>What a fleet run measured, and the same figures scaled to 10,000 devices on one S1 unit.</summary>
internal sealed record FleetReport(
    int Agents,
    StageResult Canary,
    StageResult Everyone,
    TimeSpan RolloutTime,
    long Requests,
    IReadOnlyList<string> FailedRequests,
    long AnsweredByV1,
    long AnsweredByV2,
    TimeSpan HubDowntime,
    IReadOnlyList<TimeSpan> Reconnects,
    IReadOnlyList<TimeSpan> PlannedAttempts,
    TrafficSnapshot AfterRestart,
    TrafficSnapshot DuringRollout,
    TrafficSnapshot Steady,
    TimeSpan SteadyWindow,
    TimeSpan Startup,
    IReadOnlyList<long> ResidentBytes)
{
    /// <summary>The fleet the defaults are sized for, and one S1 unit's throttles (docs/benchmarks.md cites them).</summary>
    public const int SizedFleet = 10_000;
    public const double S1TwinUpdatesPerSecond = 50;
    public const double S1DeviceToCloudPerSecond = 100;
    public const double S1NewConnectionsPerSecond = 100;

    /// <summary>The largest number of reconnects in any one-second window, as a share of the fleet.</summary>
    public double PeakReconnectShare
    {
        get
        {
            var seconds = Reconnects.Select(r => r.TotalSeconds).ToArray();
            var peak = seconds.Select(start => seconds.Count(s => s >= start && s < start + 1)).DefaultIfEmpty(0).Max();
            return peak / (double)Agents;
        }
    }

    public double SteadyPerDevicePerHour(Func<TrafficSnapshot, int> what) => what(Steady) / (double)Agents / SteadyWindow.TotalHours;

    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public string ToMarkdown(string machine)
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(c, $"Fleet: {Agents} agents ({Canary.Devices} tagged `ring=canary`), {machine}.");
        s.AppendLine(c, $"Start-up of the fleet: {Startup.TotalSeconds:F0} s; resident memory per agent: median {Median(ResidentBytes) / 1048576.0:F0} MiB, max {(ResidentBytes.Count == 0 ? 0 : ResidentBytes.Max()) / 1048576.0:F0} MiB.");
        s.AppendLine();
        s.AppendLine("| stage | devices | convergence to `ac 200` p50 | p95 | max |");
        s.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var stage in new[] { Canary, Everyone })
        {
            s.AppendLine(c, $"| {stage.Name} | {stage.Devices} | {Seconds(Percentile(stage.Convergence, 0.5))} | {Seconds(Percentile(stage.Convergence, 0.95))} | {Seconds(Percentile(stage.Convergence, 1))} |");
        }

        s.AppendLine();
        s.AppendLine(c, $"Load across the rollout ({RolloutTime.TotalSeconds:F0} s from the first patch to the last `ac 200`; the callers ran from before, until every agent had answered with v1, to after, until every agent had answered with v2): {Requests} inference requests, **{FailedRequests.Count} failed**; answered by v1 {AnsweredByV1}, by v2 {AnsweredByV2}.");
        s.AppendLine();
        s.AppendLine(c, $"Hub restart ({HubDowntime.TotalSeconds:F0} s down): every agent back after p50 {Seconds(Percentile(Reconnects, 0.5))}, p95 {Seconds(Percentile(Reconnects, 0.95))}, max {Seconds(Percentile(Reconnects, 1))}; the busiest second took {PeakReconnectShare:P0} of the fleet.");
        s.AppendLine();
        s.AppendLine("| after the hub was back | agents whose connection the hub accepted | agents whose back-off planned its first attempt (from their logs) |");
        s.AppendLine("| --- | --- | --- |");
        var all = Reconnects.Concat(PlannedAttempts).ToList();
        foreach (var (from, to) in Buckets(all))
        {
            var accepted = Reconnects.Count(v => v.TotalSeconds >= from && v.TotalSeconds < to);
            var planned = PlannedAttempts.Count(v => v.TotalSeconds >= from && v.TotalSeconds < to);
            s.AppendLine(c, $"| {from:F1}–{to:F1} s | {accepted} {new string('#', accepted)} | {planned} {new string('#', planned)} |");
        }

        s.AppendLine();
        s.AppendLine("| hub traffic per device | twin reported patches | twin GETs | device-to-cloud messages | connections |");
        s.AppendLine("| --- | --- | --- | --- | --- |");
        s.AppendLine(c, $"| steady state, per hour ({SteadyWindow.TotalMinutes:F0} min counted) | {SteadyPerDevicePerHour(t => t.ReportedPatches):F1} | {SteadyPerDevicePerHour(t => t.TwinGets):F1} | {SteadyPerDevicePerHour(t => t.DeviceToCloudMessages):F1} | {SteadyPerDevicePerHour(t => t.Connections):F1} |");
        s.AppendLine(c, $"| one rollout (both stages), per device | {PerDevice(DuringRollout.ReportedPatches)} | {PerDevice(DuringRollout.TwinGets)} | {PerDevice(DuringRollout.DeviceToCloudMessages)} | {PerDevice(DuringRollout.Connections)} |");
        s.AppendLine(c, $"| one hub restart, per device | {PerDevice(AfterRestart.ReportedPatches)} | {PerDevice(AfterRestart.TwinGets)} | {PerDevice(AfterRestart.DeviceToCloudMessages)} | {PerDevice(AfterRestart.Connections)} |");
        s.AppendLine();
        var steadyPatches = SteadyPerDevicePerHour(t => t.ReportedPatches) * SizedFleet / 3600;
        var steadyD2c = SteadyPerDevicePerHour(t => t.DeviceToCloudMessages) * SizedFleet / 3600;
        var rolloutPatches = DuringRollout.ReportedPatches / (double)Agents * SizedFleet;
        s.AppendLine(c, $"Scaled to {SizedFleet:N0} devices on one S1 unit: steady state {steadyPatches:F1} twin updates/s (throttle {S1TwinUpdatesPerSecond}/s) and {steadyD2c:F1} device-to-cloud sends/s (throttle {S1DeviceToCloudPerSecond}/s); " +
            $"a rollout's {rolloutPatches:N0} reported patches take at least {rolloutPatches / S1TwinUpdatesPerSecond / 60:F0} min at the twin-update throttle; " +
            $"a hub restart's busiest second would bring {PeakReconnectShare * SizedFleet:N0} connections (throttle {S1NewConnectionsPerSecond}/s).");
        return s.ToString();

        string PerDevice(int total) => (total / (double)Agents).ToString("F1", c);
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s";

    private static double Median(IReadOnlyList<long> values) => values.Count == 0 ? 0 : values.Order().ElementAt(values.Count / 2);

    /// <summary>About ten equal buckets over the spread (none narrower than 0.5 s).</summary>
    private static IEnumerable<(double From, double To)> Buckets(List<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            yield break;
        }

        var max = values.Max().TotalSeconds;
        var width = Math.Max(0.5, Math.Ceiling(max / 10 * 2) / 2);
        for (var from = 0.0; from <= max; from += width)
        {
            yield return (from, from + width);
        }
    }
}
