using System.Diagnostics;
using System.Globalization;

namespace EdgeMl.Benchmarks;

/// <summary>The remote harness: a setting's or a change's worth (`agent-ab`).</summary>
internal static partial class RemoteLatencyHarness
{
    /// <summary>
    /// <c>agent-ab [rounds] --agent PUBLISH_DIR --env NAME=VALUE [--env …] [--against BASELINE_DIR] [--types]</c>: two
    /// <c>edgeml run</c> with both models, the second with the given environment (a runtime setting such as the thread
    /// pool's spinning), the first of the baseline build when one is given (a change's worth), measured
    /// in turns from this process with bare <c>Run</c> between them: HTTP binary, gRPC raw and the floors of each, and
    /// each agent's CPU per request. What a setting is worth, on one machine in one run.
    /// </summary>
    public static async Task CompareSettingsAsync(string[] args)
    {
        var rounds = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var r) ? r : 20;
        var folder = Option(args, "--agent") ?? throw new ArgumentException("agent-ab needs --agent PUBLISH_DIR");
        var environment = args.Select((a, i) => (a, i)).Where(x => x.a == "--env" && x.i + 1 < args.Length).Select(x => args[x.i + 1].Split('=', 2)).ToArray();
        var against = Option(args, "--against");
        if ((environment.Length == 0 && against is null) || environment.Any(e => e.Length != 2 || e[0].Length == 0))
        {
            throw new ArgumentException("agent-ab needs --env NAME=VALUE (one or more) or --against BASELINE_DIR");
        }

        var models = Directory.CreateTempSubdirectory("edgeml-ab-models-").FullName;
        var agents = new List<RemoteAgent>();
        try
        {
            var cases = await CasesAsync(models);
            var label = string.Join(' ', environment.Select(e => $"{e[0]}={e[1]}").Prepend(against is null ? "" : "this build")).Trim();
            for (var i = 0; i < 2; i++)
            {
                var agent = await RemoteAgent.PrepareAsync(i == 0 ? against ?? folder : folder, cases.Select(c => (c.Name, c.File, c.PackShape)), []);
                if (i == 1)
                {
                    foreach (var e in environment)
                    {
                        agent.Environment[e[0]] = e[1];
                    }
                }

                await agent.StartAsync();
                agents.Add(agent);
            }

            // --types: the first agent's allocations by type per path, from its EventPipe allocation ticks (100 KB apart;
            // type names need a JIT build, e.g. a framework-dependent publish).
            using var types = args.Contains("--types") ? new ServerGcWatch(agents[0].Pid) : null;
            foreach (var model in cases)
            {
                await CompareModelAsync(agents, [against is null ? "as built" : "baseline", label], model, rounds, types);
            }
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }

            Directory.Delete(models, recursive: true);
        }
    }

    private static async Task CompareModelAsync(List<RemoteAgent> agents, string[] labels, Model model, int rounds, ServerGcWatch? types)
    {
        var clients = agents.Select(a => new ModelClient(a.Http, a.Grpc, model)).ToArray();
        try
        {
            var paths = new List<(string Name, int Agent, Func<Task> Call, List<double> Samples)> { ("bare ONNX Runtime Run (client process, 1 thread)", -1, () => { clients[0].Bare(); return Task.CompletedTask; }, []) };
            for (var a = 0; a < agents.Count; a++)
            {
                var client = clients[a];
                paths.Add(($"HTTP v2 binary, {labels[a]}", a, client.BinaryAsync, []));
                paths.Add(($"gRPC raw, {labels[a]}", a, client.GrpcRawAsync, []));
                paths.Add(($"floor: GET /v2/health/live, {labels[a]}", a, client.FloorAsync, []));
                paths.Add(($"floor: gRPC ServerLive, {labels[a]}", a, client.GrpcFloorAsync, []));
            }

            foreach (var path in paths)
            {
                for (var i = 0; i < 200; i++)
                {
                    await path.Call();
                }
            }

            var scrape = new long[agents.Count];
            for (var a = 0; a < agents.Count; a++)
            {
                scrape[a] = await ScrapeCostAsync(agents[a]);
            }

            var serverCpu = new TimeSpan[paths.Count];
            var allocated = new long[paths.Count];
            var engine = new EngineTime[paths.Count];
            var byType = paths.Select(_ => new Dictionary<string, long>(StringComparer.Ordinal)).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var p = 0; p < paths.Count; p++)
                {
                    var (_, agent, call, samples) = paths[p];
                    var cpuBefore = agent < 0 ? TimeSpan.Zero : agents[agent].CpuTime();
                    var typesBefore = agent == 0 ? types?.ByType() : null;
                    // With --types the scrapes stay out: their own allocations would be counted against the requests' types.
                    var scraped = agent >= 0 && types is null;
                    var engineBefore = scraped ? await agents[agent].EngineTimeAsync(model.Name) : default;
                    var allocatedBefore = scraped ? await agents[agent].AllocatedBytesAsync() : 0;
                    for (var i = 0; i < PerRound; i++)
                    {
                        var started = Stopwatch.GetTimestamp();
                        await call();
                        samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    }

                    serverCpu[p] += agent < 0 ? TimeSpan.Zero : agents[agent].CpuTime() - cpuBefore;
                    allocated[p] += scraped ? await agents[agent].AllocatedBytesAsync() - allocatedBefore - scrape[agent] : 0;
                    if (typesBefore is not null)
                    {
                        await Task.Delay(200);
                        foreach (var (type, bytes) in types!.ByType())
                        {
                            byType[p][type] = byType[p].GetValueOrDefault(type) + bytes - typesBefore.GetValueOrDefault(type);
                        }
                    }

                    if (scraped && await agents[agent].EngineTimeAsync(model.Name) is var (seconds, calls) && calls > engineBefore.Calls)
                    {
                        engine[p] += (seconds - engineBefore.Seconds, calls - engineBefore.Calls);
                    }
                }

                Console.Error.Write($"\r{model.Name}: round {round + 1}/{rounds}");
            }

            Console.Error.WriteLine();
            var bareP50 = Percentile(paths[0].Samples, 50);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"### {model.Name}: {rounds * PerRound} requests per path, taking turns in rounds of {PerRound}; {Environment.ProcessorCount} cores; load average {LoadAverage()}"));
            Console.WriteLine();
            Console.WriteLine("| path | P50 µs | P99 µs | added P50 over bare µs | mean µs of Run (bare) or of the server's engine | server CPU µs per request | server allocated B per request |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            for (var p = 0; p < paths.Count; p++)
            {
                var (name, agent, _, samples) = paths[p];
                var cpu = agent < 0 ? "—" : (serverCpu[p].TotalMicroseconds / samples.Count).ToString("F0", CultureInfo.InvariantCulture);
                var bytes = agent < 0 ? "—" : (allocated[p] / (double)samples.Count).ToString("F0", CultureInfo.InvariantCulture);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {Percentile(samples, 50):F1} | {Percentile(samples, 99):F1} | {(agent < 0 ? "—" : (Percentile(samples, 50) - bareP50).ToString("F1", CultureInfo.InvariantCulture))} | {(agent < 0 ? samples.Average() : engine[p].Calls > 0 ? engine[p].Seconds * 1e6 / engine[p].Calls : double.NaN).ToString("F1", CultureInfo.InvariantCulture)} | {cpu} | {bytes} |"));
            }

            for (var p = 0; p < paths.Count; p++)
            {
                if (byType[p].Count > 0)
                {
                    var top = byType[p].Where(t => t.Value > 0).OrderByDescending(t => t.Value).Take(12);
                    Console.WriteLine($"  {paths[p].Name}, most allocated, B per request: " + string.Join(", ", top.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Value / (double)paths[p].Samples.Count:F0}"))));
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// What one scrape of the metrics port allocates after it reads the allocation counter (the median of nine, with
    /// nothing between two scrapes): taken off each measured window, which holds one such scrape.
    /// </summary>
    private static async Task<long> ScrapeCostAsync(RemoteAgent agent)
    {
        var costs = new List<double>();
        for (var i = 0; i < 9; i++)
        {
            var first = await agent.AllocatedBytesAsync();
            costs.Add(await agent.AllocatedBytesAsync() - first);
        }

        return (long)Median(costs);
    }

    /// <summary>The engine's time summed over calls, from the agent's own histogram.</summary>
    private readonly record struct EngineTime(double Seconds, long Calls)
    {
        public static EngineTime operator +(EngineTime sum, (double Seconds, long Calls) more) => new(sum.Seconds + more.Seconds, sum.Calls + more.Calls);
    }
}
