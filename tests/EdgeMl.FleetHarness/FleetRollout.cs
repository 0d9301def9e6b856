using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.FleetHarness;

/// <summary>
/// A staged rollout as operators run it with IoT Hub automatic (layered) configurations: v1 everywhere, then v2 on
/// the twins tagged <c>ring=canary</c>, then on every twin, while callers keep asking the fleet for predictions;
/// then the hub restarts, and the quiet fleet's hub traffic is counted.
/// </summary>
internal sealed class FleetRollout(FleetOptions options, TextWriter progress)
{
    public const string Model = "ocr-cls";
    private readonly List<FleetAgent> _agents = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public async Task<FleetReport> RunAsync(CancellationToken cancellationToken)
    {
        var work = options.WorkDirectory ?? Directory.CreateTempSubdirectory("edgeml-fleet-").FullName;
        Directory.CreateDirectory(work);
        await using var hub = new IoTHubSimulator.IoTHubSimulator();
        await hub.StartAsync();
        try
        {
            var (registry, trustedKey) = await PublishAsync(work, cancellationToken);
            var hubCa = Path.Combine(work, "hub-ca.pem");
            await File.WriteAllTextAsync(hubCa, hub.Certificates.CertificateAuthorityPem, cancellationToken);

            // Identities and tags, as an operator registers and labels the fleet; every tenth device is a canary.
            var canaries = Math.Max(1, (int)Math.Round(options.Agents * options.CanaryShare));
            var stride = options.Agents / (double)canaries;
            var canaryIndexes = Enumerable.Range(0, canaries).Select(c => (int)(c * stride)).ToHashSet();
            var identities = new List<SimulatedIdentity>();
            for (var i = 0; i < options.Agents; i++)
            {
                var identity = hub.AddModule($"fleet-{i:D4}", "edgeml");
                identity.Twin.PatchTags(new JsonObject { ["ring"] = canaryIndexes.Contains(i) ? "canary" : "broad" });
                await hub.UpdateDesiredAsync(identity, Desired(registry, 1));
                identities.Add(identity);
            }

            var startup = await StartFleetAsync(hub, identities, work, trustedKey, hubCa, cancellationToken);
            await WaitForConvergenceAsync(identities, identities.ToDictionary(i => i, _ => TimeSpan.Zero), "v1 everywhere", cancellationToken);
            var memory = _agents.Select(a => a.ResidentBytes()).Where(b => b > 0).ToArray();

            // The rollout, under load.
            var load = new LoadGenerator(_agents);
            using var stopLoad = new CancellationTokenSource();
            var callers = load.RunAsync(options.LoadCallers, stopLoad.Token);
            // Every agent is serving the callers before the rollout starts, and serves them with v2 before the load stops.
            await WaitForLoadAsync(load, "1", callers, cancellationToken);
            var before = Traffic(hub);
            var rolloutStarted = _clock.Elapsed;
            var canary = await StageAsync(hub, hub.WhereTag("ring", "canary"), registry, "stage 1: ring=canary", cancellationToken);
            // The second deployment targets every device; twins already holding v2 do not change.
            var rest = identities.Where(i => i.Twin.Desired["models"]?[Model]?["version"]?.GetValue<long>() != 2).ToList();
            var everyone = await StageAsync(hub, rest, registry, "stage 2: every device", cancellationToken);
            var rolloutTime = _clock.Elapsed - rolloutStarted;
            await WaitForLoadAsync(load, "2", callers, cancellationToken);
            await stopLoad.CancelAsync();
            await callers;
            var duringRollout = Traffic(hub) - before;
            progress.WriteLine($"load: {load.Requests} requests, {load.Failures.Count} failed, v1 answered {load.AnsweredByV1}, v2 {load.AnsweredByV2}");

            // The hub restarts: how soon, and how spread, does the fleet come back?
            var beforeRestart = Traffic(hub);
            await hub.StopAsync();
            await Task.Delay(options.HubDowntime, cancellationToken);
            var hubBack = DateTimeOffset.UtcNow;
            await hub.StartAsync();
            var reconnects = await WaitForReconnectsAsync(hub, identities, hubBack, cancellationToken);
            // Each agent's first attempt its back-off planned for after the hub was back.
            var planned = _agents.Select(a => a.PlannedAttempts.Where(p => p >= hubBack).Select(p => p - hubBack).DefaultIfEmpty(TimeSpan.Zero).Min()).Order().ToList();
            // Let the acknowledgements and health every agent sends again after a reconnect land before counting them.
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            var afterRestart = Traffic(hub) - beforeRestart;

            // Steady state: nothing changes; what does the fleet still send?
            progress.WriteLine($"steady state: counting hub traffic for {options.SteadyWindow}");
            var steadyBefore = Traffic(hub);
            await Task.Delay(options.SteadyWindow, cancellationToken);
            var steady = Traffic(hub) - steadyBefore;

            return new FleetReport(
                options.Agents, canary, everyone, rolloutTime, load.Requests, load.Failures, load.AnsweredByV1, load.AnsweredByV2,
                options.HubDowntime, reconnects, planned, afterRestart, duringRollout, steady, options.SteadyWindow, startup, memory);
        }
        finally
        {
            await Task.WhenAll(_agents.Select(a => a.DisposeAsync().AsTask()));
            if (options.WorkDirectory is null)
            {
                try
                {
                    Directory.Delete(work, recursive: true);
                }
                catch (IOException)
                {
                    // A file an agent still held while dying; the temporary folder is the OS's to clean.
                }
            }
        }
    }

    /// <summary>A signing key, and v1 and v2 of the model packed, signed and published with the CLI, as an operator does.</summary>
    private async Task<(string Registry, string TrustedKey)> PublishAsync(string work, CancellationToken cancellationToken)
    {
        var model = options.Model ?? ModelFixtures.Classifier;
        var keys = Path.Combine(work, "keys");
        var registry = Path.Combine(work, "registry");
        await CliAsync(cancellationToken, "keys", "create", "--name", "fleet", "--out", keys);
        var key = Path.Combine(keys, "fleet.key.pem");
        foreach (var version in new[] { "1", "2" })
        {
            var package = Path.Combine(work, $"package-v{version}");
            await CliAsync(cancellationToken, "model", "pack", model, "--name", Model, "--version", version, "--out", package, "--shape", "x=1,3,48,192", "--golden", "1");
            await CliAsync(cancellationToken, "model", "sign", package, "--key", key);
            await CliAsync(cancellationToken, "model", "publish", package, "--registry", registry, "--key", key);
        }

        progress.WriteLine($"published {Model} v1 and v2 into {registry}");
        return (registry, Path.Combine(keys, "fleet.pub.pem"));
    }

    private static async Task CliAsync(CancellationToken cancellationToken, params string[] args)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (code, output, error) = await EdgeMlProcess.RunAsync(args, TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            throw new InvalidOperationException($"edgeml {string.Join(' ', args)} exited with {code}:\n{output}\n{error}");
        }
    }

    /// <summary>Starts the agents a few at a time (start-up is what costs CPU), each waited for until ready.</summary>
    private async Task<TimeSpan> StartFleetAsync(IoTHubSimulator.IoTHubSimulator hub, List<SimulatedIdentity> identities, string work, string trustedKey, string hubCa, CancellationToken cancellationToken)
    {
        var started = _clock.Elapsed;
        using var slots = new SemaphoreSlim(options.StartConcurrency);
        var ready = 0;
        var starts = identities.Select(async identity =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    var agent = FleetAgent.Start(identity, hub.ConnectionString(identity), Path.Combine(work, "data", identity.DeviceId), trustedKey, hubCa, options.AgentSettings);
                    lock (_agents)
                    {
                        _agents.Add(agent);
                    }

                    try
                    {
                        await agent.WaitUntilReadyAsync(options.PhaseTimeout, cancellationToken);
                        break;
                    }
                    catch (InvalidOperationException) when (agent.LostAPort && attempt < 3)
                    {
                        // A probed free port went to someone else first (often an outgoing connection of another
                        // agent: the same ephemeral range); a fresh set of ports is the fix.
                        lock (_agents)
                        {
                            _agents.Remove(agent);
                        }

                        await agent.DisposeAsync();
                    }
                }
                var count = Interlocked.Increment(ref ready);
                if (count % 10 == 0 || count == identities.Count)
                {
                    progress.WriteLine($"{count}/{identities.Count} agents ready ({_clock.Elapsed - started:mm\\:ss})");
                }
            }
            finally
            {
                slots.Release();
            }
        }).ToArray();
        await Task.WhenAll(starts);
        _agents.Sort((a, b) => string.CompareOrdinal(a.Identity.Key, b.Identity.Key));
        return _clock.Elapsed - started;
    }

    private async Task<StageResult> StageAsync(IoTHubSimulator.IoTHubSimulator hub, IReadOnlyList<SimulatedIdentity> targets, string registry, string name, CancellationToken cancellationToken)
    {
        progress.WriteLine($"{name}: v2 desired on {targets.Count} twin(s)");
        var patchedAt = new Dictionary<SimulatedIdentity, TimeSpan>();
        foreach (var identity in targets)
        {
            await hub.UpdateDesiredAsync(identity, Desired(registry, 2));
            patchedAt[identity] = _clock.Elapsed;
        }

        var times = await WaitForConvergenceAsync(targets, patchedAt, name, cancellationToken);
        return new StageResult(name, targets.Count, times);
    }

    /// <summary>Time from each twin's desired patch to its <c>ac 200</c> for that desired <c>$version</c>, polled every 100 ms.</summary>
    private async Task<IReadOnlyList<TimeSpan>> WaitForConvergenceAsync(IReadOnlyCollection<SimulatedIdentity> targets, Dictionary<SimulatedIdentity, TimeSpan> patchedAt, string name, CancellationToken cancellationToken)
    {
        var converged = new Dictionary<SimulatedIdentity, TimeSpan>();
        var deadline = _clock.Elapsed + options.PhaseTimeout;
        while (converged.Count < targets.Count)
        {
            foreach (var identity in targets.Where(i => !converged.ContainsKey(i)))
            {
                if (Acknowledged(identity))
                {
                    converged[identity] = _clock.Elapsed - patchedAt[identity];
                }
            }

            if (converged.Count == targets.Count)
            {
                break;
            }

            if (_clock.Elapsed > deadline || _agents.Any(a => a.HasExited))
            {
                var late = targets.Where(i => !converged.ContainsKey(i)).ToList();
                var agent = _agents.FirstOrDefault(a => a.Identity == late[0]);
                throw new TimeoutException($"{name}: {late.Count} of {targets.Count} did not converge; {late[0].Key} reports " +
                    $"{late[0].Twin.Reported["models"]?[Model]?.ToJsonString() ?? "nothing"}:\n{agent?.Tail}");
            }

            await Task.Delay(100, cancellationToken);
        }

        progress.WriteLine($"{name}: converged ({converged.Values.Max():mm\\:ss\\.f} for the last)");
        return [.. converged.Values.Order()];
    }

    private async Task WaitForLoadAsync(LoadGenerator load, string version, Task callers, CancellationToken cancellationToken)
    {
        var deadline = _clock.Elapsed + options.PhaseTimeout;
        while (!load.EveryAgentAnswered(version))
        {
            if (callers.IsCompleted || _clock.Elapsed > deadline)
            {
                await callers;
                throw new TimeoutException($"not every agent answered the callers with v{version} ({load.Requests} requests, {load.Failures.Count} failed)");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static bool Acknowledged(SimulatedIdentity identity)
    {
        var ack = identity.Twin.Reported["models"]?[Model];
        return ack?["ac"]?.GetValue<int>() == 200 && ack["av"]?.GetValue<long>() == identity.Twin.DesiredVersion;
    }

    private async Task<IReadOnlyList<TimeSpan>> WaitForReconnectsAsync(IoTHubSimulator.IoTHubSimulator hub, List<SimulatedIdentity> identities, DateTimeOffset hubBack, CancellationToken cancellationToken)
    {
        await hub.WaitForAsync(() => identities.All(i => i.IsConnected && i.LastConnectedAt > hubBack), options.PhaseTimeout, "every agent reconnected")
            .WaitAsync(cancellationToken);
        var delays = identities.Select(i => i.LastConnectedAt!.Value - hubBack).Order().ToList();
        progress.WriteLine($"hub restart: all {identities.Count} reconnected, the last after {delays[^1].TotalSeconds:F1} s");
        return delays;
    }

    private static TrafficSnapshot Traffic(IoTHubSimulator.IoTHubSimulator hub) =>
        hub.Identities.Select(i => i.Traffic.Snapshot()).Aggregate(default(TrafficSnapshot), (a, b) => new(
            a.ReportedPatches + b.ReportedPatches, a.TwinGets + b.TwinGets, a.DeviceToCloudMessages + b.DeviceToCloudMessages, a.Connections + b.Connections));

    /// <summary>The deployment's content for the module twin: the registry and the model at <paramref name="version"/>.</summary>
    private static JsonObject Desired(string registry, long version) => new()
    {
        ["registry"] = registry,
        ["models"] = new JsonObject
        {
            [Model] = new JsonObject { ["version"] = version, ["providers"] = "cpu", ["threads"] = 1 },
        },
    };
}

internal sealed record StageResult(string Name, int Devices, IReadOnlyList<TimeSpan> Convergence);
