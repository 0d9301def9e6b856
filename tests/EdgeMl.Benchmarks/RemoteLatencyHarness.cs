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
internal static partial class RemoteLatencyHarness
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
                await Task.Delay(RemoteAgent.Settle);
                idle.Add(agent.ResidentMegabytes());
                if (i < starts - 1)
                {
                    await agent.StopAsync();
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"start to /v2/health/ready with 2 models on disk: median {Median(startToReady):F0} ms ({string.Join(", ", startToReady.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))}); idle RSS {RemoteAgent.Settle.TotalSeconds:F0} s after ready: median {Median([.. idle.Select(m => m.Total)]):F1} MB (anonymous {Median([.. idle.Select(m => m.Anonymous)]):F1}, file-backed {Median([.. idle.Select(m => m.File)]):F1}); load average {LoadAverage()}"));

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
