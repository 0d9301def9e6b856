using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Benchmarks;

/// <summary>
/// What a user of the device measures: a client in its own process against the real <c>edgeml run</c> of a published
/// build, each request's latency through every front door, interleaved with bare ONNX Runtime <c>Run</c> on the same
/// model in the client (1 intra-op thread on both sides), plus the floor: a bodiless round trip to the same server.
/// Also the start-to-ready time and resident memory of that build, and the server's collections and allocations
/// under steady load (from its EventPipe). Only ratios within one run travel; the load average is printed with them.
/// </summary>
internal static class RemoteLatencyHarness
{
    private const int PerRound = 100;

    /// <summary><c>latency-remote [rounds] --agent PUBLISH_DIR [--starts N]</c>; 0 rounds measures start-up and memory only.</summary>
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var r) ? r : 40;
        var agentFolder = Option(args, "--agent") ?? throw new ArgumentException("latency-remote needs --agent PUBLISH_DIR (the folder of a published edgeml)");
        var starts = int.Parse(Option(args, "--starts") ?? "3", CultureInfo.InvariantCulture);
        var models = Directory.CreateTempSubdirectory("edgeml-remote-models-").FullName;
        try
        {
            var cases = await CasesAsync(models);

            Console.WriteLine($"edgeml: {Path.GetFullPath(agentFolder)}; {Environment.ProcessorCount} cores; load average at start {LoadAverage()}");
            await using var agent = await RemoteAgent.PrepareAsync(agentFolder, cases.Select(c => (c.Name, c.File, c.PackShape)), []);

            // The first start pulls and verifies the packages; the timed starts find them on disk, as a module restart does.
            await agent.StartAsync();
            await agent.StopAsync();
            var startToReady = new List<double>();
            var idle = new List<(double Total, double Anonymous, double File)>();
            for (var i = 0; i < starts; i++)
            {
                startToReady.Add((await agent.StartAsync()).TotalMilliseconds);
                await Task.Delay(TimeSpan.FromSeconds(5));
                idle.Add(agent.ResidentMegabytes());
                if (i < starts - 1)
                {
                    await agent.StopAsync();
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"start to /v2/health/ready with 2 models on disk: median {Median(startToReady):F0} ms ({string.Join(", ", startToReady.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))}); idle RSS 5 s after ready: median {Median([.. idle.Select(m => m.Total)]):F1} MB (anonymous {Median([.. idle.Select(m => m.Anonymous)]):F1}, file-backed {Median([.. idle.Select(m => m.File)]):F1}); load average {LoadAverage()}"));

            if (rounds == 0)
            {
                return;
            }

            using var gc = new ServerGcWatch(agent.Pid);
            var python = Option(args, "--python");
            foreach (var model in cases)
            {
                await MeasureModelAsync(agent, gc, model, rounds);
                if (python is not null)
                {
                    await PythonLatencyClient.RunAsync(python, agent, model.Name, model.Input, model.Output, model.Shape, rounds, PerRound);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RSS after the runs: {agent.ResidentMegabytes().Total:F1} MB; load average at the end {LoadAverage()}"));
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    /// <summary>
    /// <c>startup --agent PUBLISH_DIR --baseline PUBLISH_DIR [--starts N]</c>: two builds started in turns, first with the
    /// classifier alone on disk (issue 13's goal), then with two models, so both see the same machine: start to ready and
    /// idle memory, medians of N starts each.
    /// </summary>
    public static async Task CompareStartupAsync(string[] args)
    {
        var builds = new[] { ("this build", Option(args, "--agent")), ("baseline", Option(args, "--baseline")) };
        var starts = int.Parse(Option(args, "--starts") ?? "5", CultureInfo.InvariantCulture);
        var models = Directory.CreateTempSubdirectory("edgeml-remote-models-").FullName;
        try
        {
            var dense = Path.Combine(models, "dense.onnx");
            await File.WriteAllBytesAsync(dense, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 1));
            (string, string, string?) classifier = ("cls", ModelFixtures.Classifier, "x=1,3,48,192");
            await CompareStartupAsync(builds, starts, "the classifier", [classifier]);
            await CompareStartupAsync(builds, starts, "2 models (classifier, dense)", [classifier, ("dense", dense, null)]);
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    private static async Task CompareStartupAsync((string Name, string? Folder)[] builds, int starts, string onDisk, (string, string, string?)[] models)
    {
        var agents = new List<RemoteAgent>();
        try
        {
            foreach (var (_, folder) in builds)
            {
                var agent = await RemoteAgent.PrepareAsync(folder ?? throw new ArgumentException("startup needs --agent DIR and --baseline DIR"), models, []);
                agents.Add(agent);
                await agent.StartAsync();
                await agent.StopAsync();
            }

            var ready = agents.Select(_ => new List<double>()).ToArray();
            var idle = agents.Select(_ => new List<(double Total, double Anonymous, double File)>()).ToArray();
            for (var i = 0; i < starts; i++)
            {
                for (var b = 0; b < agents.Count; b++)
                {
                    ready[b].Add((await agents[b].StartAsync()).TotalMilliseconds);
                    await Task.Delay(TimeSpan.FromSeconds(5));
                    idle[b].Add(agents[b].ResidentMegabytes());
                    await agents[b].StopAsync();
                }
            }

            Console.WriteLine($"{starts} starts each, in turns, {onDisk} on disk; {Environment.ProcessorCount} cores; load average {LoadAverage()}");
            Console.WriteLine("| build | start to ready, median ms | idle RSS, median MB | anonymous MB | file-backed MB |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            for (var b = 0; b < agents.Count; b++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {builds[b].Name} ({builds[b].Folder}) | {Median(ready[b]):F0} | {Median([.. idle[b].Select(m => m.Total)]):F1} | {Median([.. idle[b].Select(m => m.Anonymous)]):F1} | {Median([.. idle[b].Select(m => m.File)]):F1} |"));
            }
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// <c>shadow-cost [rounds] --agent PUBLISH_DIR</c>: two <c>edgeml run</c> of the same build serving the dense model v1,
    /// one with a shadow v2 (other weights, every request copied, never promoted), measured in turns from this process
    /// over HTTP binary: what a shadow costs the callers. Then the shadow's own figures from its health.
    /// </summary>
    public static async Task CompareShadowAsync(string[] args)
    {
        var rounds = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var r) ? r : 40;
        var folder = Option(args, "--agent") ?? throw new ArgumentException("shadow-cost needs --agent PUBLISH_DIR");
        var models = Directory.CreateTempSubdirectory("edgeml-shadow-models-").FullName;
        var agents = new List<RemoteAgent>();
        try
        {
            var v1 = Path.Combine(models, "dense-1.onnx");
            var v2 = Path.Combine(models, "dense-2.onnx");
            await File.WriteAllBytesAsync(v1, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 1));
            await File.WriteAllBytesAsync(v2, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 2));
            string[] pinned = ["--EdgeMl:Desired:models:dense:version=1"];
            string[] shadow = [.. pinned, "--EdgeMl:Desired:models:dense:shadow:version=2", "--EdgeMl:Desired:models:dense:shadow:sampleRate=1", "--EdgeMl:Desired:models:dense:shadow:promoteWhen=false"];
            foreach (var extra in new[] { pinned, shadow })
            {
                var agent = await RemoteAgent.PrepareAsync(folder, [("dense", v1, null)], extra);
                await agent.PublishAsync("dense", v2, 2);
                await agent.StartAsync();
                agents.Add(agent);
            }

            // The shadow is installed and loaded after the start: wait until it compares.
            var started = Stopwatch.StartNew();
            using (var warm = new ModelClient(agents[1].Http, agents[1].Grpc, new Model("dense", v1, "x", [1, DenseInputs], "y")))
            {
                while ((await ShadowFiguresAsync(agents[1]))?.GetProperty("compared").GetInt64() is not > 0)
                {
                    await warm.BinaryAsync();
                    if (started.Elapsed > TimeSpan.FromMinutes(2))
                    {
                        throw new TimeoutException("the shadow did not start comparing within 2 minutes");
                    }
                }
            }

            var model = new Model("dense", v1, "x", [1, DenseInputs], "y");
            using var without = new ModelClient(agents[0].Http, agents[0].Grpc, model);
            using var with = new ModelClient(agents[1].Http, agents[1].Grpc, model);
            List<(string Name, ModelClient Client, List<double> Samples)> paths = [("without a shadow", without, []), ("with a shadow (every request copied)", with, [])];
            foreach (var (_, client, _) in paths)
            {
                for (var i = 0; i < 200; i++)
                {
                    await client.BinaryAsync();
                }
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var (_, client, samples) in paths)
                {
                    for (var i = 0; i < PerRound; i++)
                    {
                        var t = Stopwatch.GetTimestamp();
                        await client.BinaryAsync();
                        samples.Add(Stopwatch.GetElapsedTime(t).TotalMicroseconds);
                    }
                }

                Console.Error.Write($"\rshadow-cost: round {round + 1}/{rounds}");
            }

            Console.Error.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"### dense 768→512→512→16, HTTP binary, {rounds * PerRound} requests per agent, taking turns in rounds of {PerRound}; {Environment.ProcessorCount} cores; load average {LoadAverage()}"));
            Console.WriteLine();
            Console.WriteLine("| agent | P50 µs | P99 µs | P50 ratio | P99 ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            var (baseP50, baseP99) = (Percentile(paths[0].Samples, 50), Percentile(paths[0].Samples, 99));
            foreach (var (name, _, samples) in paths)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {Percentile(samples, 50):F1} | {Percentile(samples, 99):F1} | {Percentile(samples, 50) / baseP50:F3} | {Percentile(samples, 99) / baseP99:F3} |"));
            }

            var figures = await ShadowFiguresAsync(agents[1]);
            Console.WriteLine($"shadow health: {figures}");
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

    private static async Task<JsonElement?> ShadowFiguresAsync(RemoteAgent agent)
    {
        using var response = await agent.Http.GetAsync("/api/health");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return document.RootElement.TryGetProperty("proving", out var proving) && proving.ValueKind == JsonValueKind.Object
            && proving.GetProperty("shadows").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } shadow
            ? shadow.Clone()
            : null;
    }

    /// <summary>The classifier and the few-KB dense model (written into <paramref name="folder"/>): what latency-remote and agent-ab measure.</summary>
    private static async Task<Model[]> CasesAsync(string folder)
    {
        var dense = Path.Combine(folder, "dense.onnx");
        await File.WriteAllBytesAsync(dense, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 1));
        return
        [
            new("cls", ModelFixtures.Classifier, "x", ModelFixtures.ClassifierShape, "softmax_0.tmp_0", "x=1,3,48,192"),
            new("dense", dense, "x", [1, DenseInputs], "y"),
        ];
    }

    /// <summary>The few-KB model: 768 FP32 values (3 KB), as an audio frame's features or a sensor window.</summary>
    private const int DenseInputs = 768;

    private static async Task MeasureModelAsync(RemoteAgent agent, ServerGcWatch gc, Model model, int rounds)
    {
        using var client = new ModelClient(agent.Http, agent.Grpc, model, agent.GrpcDefault);
        List<(string Name, Func<Task> Call, List<double> Samples)> paths =
        [
            ("bare ONNX Runtime Run (client process, 1 thread)", () => { client.Bare(); return Task.CompletedTask; }, []),
            ("HTTP v2 binary", client.BinaryAsync, []),
            ("HTTP v2 JSON", client.JsonAsync, []),
            ("gRPC ModelInfer, raw contents (tuned client)", client.GrpcRawAsync, []),
            ("gRPC ModelInfer, raw contents (default client)", client.GrpcRawDefaultAsync, []),
            ("floor: GET /v2/health/live (no body)", client.FloorAsync, []),
            ("floor: gRPC ServerLive (no body, tuned client)", client.GrpcFloorAsync, []),
        ];

        foreach (var (_, call, _) in paths)
        {
            for (var i = 0; i < 200; i++)
            {
                await call();
            }
        }

        // The server's CPU time in each path's rounds, so the paths share the machine's load as their latencies do.
        var serverCpu = new TimeSpan[paths.Count];
        for (var round = 0; round < rounds; round++)
        {
            for (var p = 0; p < paths.Count; p++)
            {
                var (_, call, samples) = paths[p];
                var cpuBefore = agent.CpuTime();
                for (var i = 0; i < PerRound; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await call();
                    samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }

                serverCpu[p] += agent.CpuTime() - cpuBefore;
            }

            Console.Error.Write($"\r{model.Name}: round {round + 1}/{rounds}");
        }

        Console.Error.WriteLine();
        var bare = paths[0].Samples;
        var (bareP50, bareP99) = (Percentile(bare, 50), Percentile(bare, 99));
        var floor = Percentile(paths[5].Samples, 50);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"### {model.Name}: input {string.Join('×', model.Shape)} FP32 ({model.InputBytes / 1024.0:F1} KB); {rounds * PerRound} requests per path, taking turns in rounds of {PerRound}; load average {LoadAverage()}"));
        Console.WriteLine();
        Console.WriteLine("| path | P50 µs | P99 µs | P99.9 µs | added P50 over bare µs | P99 ratio to bare P99 | server CPU µs per request |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var p = 0; p < paths.Count; p++)
        {
            var (name, _, samples) = paths[p];
            var p50 = Percentile(samples, 50);
            var added = name.StartsWith("floor", StringComparison.Ordinal) ? "—" : (p50 - bareP50).ToString("F1", CultureInfo.InvariantCulture);
            var ratio = name.StartsWith("floor", StringComparison.Ordinal) ? "—" : (Percentile(samples, 99) / bareP99).ToString("F2", CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {p50:F1} | {Percentile(samples, 99):F1} | {Percentile(samples, 99.9):F1} | {added} | {ratio} | {serverCpu[p].TotalMicroseconds / samples.Count:F0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"HTTP binary adds {Percentile(paths[1].Samples, 50) - bareP50:F1} µs at P50, of which the floor (a bodiless round trip) is {floor:F1} µs"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gRPC raw against HTTP binary at P50: tuned client {Percentile(paths[3].Samples, 50) - Percentile(paths[1].Samples, 50):+0.0;-0.0} µs, default client {Percentile(paths[4].Samples, 50) - Percentile(paths[1].Samples, 50):+0.0;-0.0} µs (floors: gRPC {Percentile(paths[6].Samples, 50):F1}, HTTP {floor:F1} µs)"));

        // Steady load on each binary path alone: what the server collects, allocates and spends of CPU per request.
        // CPU time (user + system, from /proc) holds up under a loaded machine better than wall time does.
        foreach (var (name, call) in new (string, Func<Task>)[] { ("HTTP binary", client.BinaryAsync), ("gRPC raw (tuned client)", client.GrpcRawAsync), ("gRPC raw (default client)", client.GrpcRawDefaultAsync) })
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var scrape = await ScrapeCostAsync(agent);
            var before = gc.Now();
            var typesBefore = gc.ByType();
            var engineBefore = await agent.EngineTimeAsync(model.Name);
            var allocatedBefore = await agent.AllocatedBytesAsync();
            var cpuBefore = agent.CpuTime();
            var steady = rounds * PerRound;
            for (var i = 0; i < steady; i++)
            {
                await call();
            }

            var cpu = agent.CpuTime() - cpuBefore;
            var allocated = await agent.AllocatedBytesAsync() - allocatedBefore - scrape;
            var (engineSeconds, engineCalls) = await agent.EngineTimeAsync(model.Name);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var used = gc.Now() - before;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server under steady {name} load, {steady} requests: CPU {cpu.TotalMicroseconds / steady:F0} µs per request; engine {(engineSeconds - engineBefore.Seconds) * 1e6 / Math.Max(1, engineCalls - engineBefore.Calls):F1} µs per call; collections gen0 {used.Gen0}, gen1 {used.Gen1}, gen2 {used.Gen2}; allocated {allocated / (double)steady:F0} B per request (exact, dotnet_gc_heap_total_allocated_bytes_total; the input tensor is {model.InputBytes} B)"));
            // Native AOT's allocation events carry no type names (NULL): nothing to print then.
            var types = gc.ByType().Select(t => (Type: t.Key, Bytes: t.Value - typesBefore.GetValueOrDefault(t.Key))).Where(t => t.Bytes > 0 && t.Type is not ("" or "NULL")).OrderByDescending(t => t.Bytes).Take(8).ToList();
            if (types.Count > 0)
            {
                Console.WriteLine("  most allocated, B per request: " + string.Join(", ", types.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {t.Bytes / (double)steady:F0}"))));
            }
        }
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static double Median(List<double> values) => Percentile(values, 50);

    internal static double Percentile(List<double> samples, double percent)
    {
        var sorted = samples.Order().ToArray();
        var rank = (percent / 100.0) * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    /// <param name="PackShape">The <c>--shape</c> that <c>edgeml model pack</c> needs for a dynamic input, or null.</param>
    private sealed record Model(string Name, string File, string Input, long[] Shape, string Output, string? PackShape = null)
    {
        public int InputBytes => (int)Shape.Aggregate(1L, (a, d) => a * d) * sizeof(float);
    }

    /// <summary>One model's requests, built once: bare <c>Run</c> in this process, the HTTP bodies and the gRPC message.</summary>
    private sealed class ModelClient : IDisposable
    {
        private readonly HttpClient _http;
        private readonly Inference.GRPCInferenceService.GRPCInferenceServiceClient _grpc;
        private readonly Inference.GRPCInferenceService.GRPCInferenceServiceClient _grpcDefault;
        private readonly Inference.ModelInferRequest _grpcRequest;
        private readonly Model _model;
        private readonly InferenceSession _bare;
        private readonly RunOptions _runOptions = new();
        private readonly float[] _input;
        private readonly byte[] _binaryBody;
        private readonly string _headerLength;
        private readonly byte[] _jsonBody;
        private readonly string _infer;

        /// <param name="grpcDefault">A second channel for the same calls (default client settings); the tuned one when not given.</param>
        public ModelClient(HttpClient http, Grpc.Net.Client.GrpcChannel grpc, Model model, Grpc.Net.Client.GrpcChannel? grpcDefault = null)
        {
            _http = http;
            _grpc = new Inference.GRPCInferenceService.GRPCInferenceServiceClient(grpc);
            _grpcDefault = new Inference.GRPCInferenceService.GRPCInferenceServiceClient(grpcDefault ?? grpc);
            _model = model;
            using (var options = new SessionOptions { IntraOpNumThreads = 1 })
            {
                _bare = new InferenceSession(model.File, options);
            }

            _input = ModelFixtures.SampleInput(model.Shape, seed: 1);
            _infer = $"/v2/models/{model.Name}/infer";
            var shape = string.Join(',', model.Shape);
            var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"{{{model.Input}}}","shape":[{{{shape}}}],"datatype":"FP32","parameters":{"binary_data_size":{{{_input.Length * 4}}}}}],"outputs":[{"name":"{{{model.Output}}}","parameters":{"binary_data":true}}]}""");
            _headerLength = header.Length.ToString(CultureInfo.InvariantCulture);
            _binaryBody = [.. header, .. MemoryMarshal.AsBytes(_input.AsSpan())];
            _jsonBody = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"{{model.Input}}","shape":[{{shape}}],"datatype":"FP32","data":{{JsonSerializer.Serialize(_input)}}}]}""");

            // As tritonclient.grpc sends it: raw_input_contents, and the one output asked for by name.
            _grpcRequest = new Inference.ModelInferRequest
            {
                ModelName = model.Name,
                Inputs = { new Inference.ModelInferRequest.Types.InferInputTensor { Name = model.Input, Datatype = "FP32", Shape = { model.Shape } } },
                Outputs = { new Inference.ModelInferRequest.Types.InferRequestedOutputTensor { Name = model.Output } },
                RawInputContents = { Google.Protobuf.ByteString.CopyFrom(MemoryMarshal.AsBytes(_input.AsSpan())) },
            };
        }

        public float Bare()
        {
            using var input = OrtValue.CreateTensorValueFromMemory(_input, _model.Shape);
            using var results = _bare.Run(_runOptions, [_model.Input], [input], [_model.Output]);
            return results[0].GetTensorDataAsSpan<float>()[0];
        }

        public async Task BinaryAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _infer) { Content = new ByteArrayContent(_binaryBody) };
            request.Headers.Add("Inference-Header-Content-Length", _headerLength);
            using var response = await _http.SendAsync(request);
            await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync();
        }

        public async Task JsonAsync()
        {
            using var content = new ByteArrayContent(_jsonBody);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync(_infer, content);
            await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync();
        }

        public Task GrpcRawAsync() => RawAsync(_grpc);

        public Task GrpcRawDefaultAsync() => RawAsync(_grpcDefault);

        private async Task RawAsync(Inference.GRPCInferenceService.GRPCInferenceServiceClient grpc)
        {
            var response = await grpc.ModelInferAsync(_grpcRequest);
            if (response.RawOutputContents.Count != 1)
            {
                throw new InvalidOperationException("the gRPC answer has no raw output");
            }
        }

        public async Task GrpcFloorAsync()
        {
            if (!(await _grpc.ServerLiveAsync(LiveRequest)).Live)
            {
                throw new InvalidOperationException("ServerLive said not live");
            }
        }

        private static readonly Inference.ServerLiveRequest LiveRequest = new();

        public async Task FloorAsync()
        {
            using var response = await _http.GetAsync("/v2/health/live");
            await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync();
        }

        public void Dispose()
        {
            _bare.Dispose();
            _runOptions.Dispose();
        }
    }
}
