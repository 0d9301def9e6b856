using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;

namespace EdgeMl.Benchmarks;

/// <summary>
/// The real <c>edgeml run</c> of a build folder (what <c>dotnet publish</c> gives, as the module image holds it) as a
/// child process, with models published into a folder registry by the same binary's CLI, as an operator does.
/// </summary>
internal sealed class RemoteAgent : IAsyncDisposable
{
    private readonly string _agentDll;
    private readonly string _root;
    private readonly List<string> _settings;
    private Process? _process;
    private int _metricsPort;

    private RemoteAgent(string agentDll, string root, List<string> settings)
    {
        _agentDll = agentDll;
        _root = root;
        _settings = settings;
    }

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The gRPC port of the running agent, for clients in other processes.</summary>
    public int GrpcPort { get; private set; }

    /// <summary>
    /// A channel to the agent's gRPC port as a tuned long-lived client keeps it (<see cref="TunedGrpcHandler"/>): one
    /// HTTP/2 connection reused by every call.
    /// </summary>
    public GrpcChannel Grpc { get; private set; } = null!;

    /// <summary>
    /// A channel with Grpc.Net.Client's defaults, what <c>GrpcChannel.ForAddress(url)</c> gives a user who sets nothing
    /// (its own <c>SocketsHttpHandler</c> with <c>EnableMultipleHttp2Connections</c>, 64 KB initial stream window).
    /// </summary>
    public GrpcChannel GrpcDefault { get; private set; } = null!;

    /// <summary>
    /// What a tuned .NET client sets: no proxy lookup, more HTTP/2 connections when one is full, a 1 MB initial receive
    /// window per stream (answers larger than the 64 KB default arrive without waiting for WINDOW_UPDATE), pooled
    /// connections kept, and keep-alive pings so an idle connection is not found dead by the next call.
    /// </summary>
    /// <remarks>
    /// SocketsHttpHandler sends DATA frames of 16 KB whatever frame size the server advertises, so the agent's larger
    /// SETTINGS_MAX_FRAME_SIZE helps other clients (grpc C-core as in tritonclient, grpc-go, grpc-java), not this one.
    /// </remarks>
    public static SocketsHttpHandler TunedGrpcHandler() => new()
    {
        UseProxy = false,
        EnableMultipleHttp2Connections = true,
        InitialHttp2StreamWindowSize = 1024 * 1024,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// How long after ready the agent counts as idle: past the memory it gives back 5 s after its last model load
    /// (agent/Hosting/MemoryRelease.cs), with room for a slow start.
    /// </summary>
    public static TimeSpan Settle { get; } = TimeSpan.FromSeconds(10);

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>Environment variables of the agent's process beyond the caller's own (a runtime setting to compare).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Creates a key, packs, signs and publishes each model with the build's own CLI.</summary>
    /// <param name="models">Name, ONNX file and the <c>--shape</c> of a dynamic input (or null).</param>
    public static async Task<RemoteAgent> PrepareAsync(string agentFolder, IEnumerable<(string Name, string File, string? Shape)> models, IEnumerable<string> extraSettings)
    {
        // A framework-dependent publish runs as `dotnet edgeml.dll`; a self-contained one (the module images') and a
        // Native AOT one run as the executable alone, as the images' ENTRYPOINT does.
        var folder = Path.GetFullPath(agentFolder);
        var selfContained = File.Exists(Path.Combine(folder, "libcoreclr.so")) || !File.Exists(Path.Combine(folder, "edgeml.dll"));
        var agentDll = Path.Combine(folder, selfContained ? "edgeml" : "edgeml.dll");
        if (!File.Exists(agentDll))
        {
            throw new FileNotFoundException($"no edgeml in {agentFolder}: publish the agent first (./scripts/bench.sh latency-remote does)", agentDll);
        }

        var root = Directory.CreateTempSubdirectory("edgeml-remote-bench-").FullName;
        var keys = Path.Combine(root, "keys");
        var registry = Path.Combine(root, "registry");
        await CliAsync(agentDll, "keys", "create", "--name", "bench", "--out", keys);
        var settings = new List<string>
        {
            $"--EdgeMl:DataDirectory={Path.Combine(root, "data")}",
            $"--EdgeMl:TrustedKeyFiles:0={Path.Combine(keys, "bench.pub.pem")}",
            $"--EdgeMl:Desired:registry={registry}",
        };
        foreach (var (name, file, shape) in models)
        {
            var package = Path.Combine(root, "pkg-" + name);
            List<string> pack = ["model", "pack", file, "--name", name, "--version", "1", "--out", package, "--golden", "1"];
            if (shape is not null)
            {
                pack.AddRange(["--shape", shape]);
            }

            await CliAsync(agentDll, [.. pack]);
            await CliAsync(agentDll, "model", "sign", package, "--key", Path.Combine(keys, "bench.key.pem"));
            await CliAsync(agentDll, "model", "publish", package, "--registry", registry, "--key", Path.Combine(keys, "bench.key.pem"));
            settings.Add($"--EdgeMl:Desired:models:{name}:version=latest");
            settings.Add($"--EdgeMl:Desired:models:{name}:providers=cpu");
            settings.Add($"--EdgeMl:Desired:models:{name}:threads=1");
        }

        settings.AddRange(extraSettings);
        return new RemoteAgent(agentDll, root, settings);
    }

    /// <summary>Packs, signs and publishes one more version of a model (a shadow's) with the build's own CLI.</summary>
    public async Task PublishAsync(string name, string file, long version)
    {
        var keys = Path.Combine(_root, "keys");
        var package = Path.Combine(_root, $"pkg-{name}-{version}");
        await CliAsync(_agentDll, "model", "pack", file, "--name", name, "--version", version.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", package, "--golden", "1");
        await CliAsync(_agentDll, "model", "sign", package, "--key", Path.Combine(keys, "bench.key.pem"));
        await CliAsync(_agentDll, "model", "publish", package, "--registry", Path.Combine(_root, "registry"), "--key", Path.Combine(keys, "bench.key.pem"));
    }

    /// <summary>Starts <c>edgeml run</c> on fresh loopback ports and waits for <c>/v2/health/ready</c>.</summary>
    /// <returns>From the process start to the first ready answer.</returns>
    public async Task<TimeSpan> StartAsync()
    {
        var http = FreePort();
        var grpc = FreePort();
        _metricsPort = FreePort();
        var info = Command(_agentDll);
        foreach (var arg in (string[])["run", $"--EdgeMl:Http:Urls=http://127.0.0.1:{http}", $"--EdgeMl:Grpc:Urls=http://127.0.0.1:{grpc}", $"--EdgeMl:MetricsUrls=http://127.0.0.1:{_metricsPort}", $"--EdgeMl:Mqtt:EmbeddedPort={FreePort()}", .. _settings])
        {
            info.ArgumentList.Add(arg);
        }

        // What the module image sets (modules/edgeml/Dockerfile.*); a variable of the caller's own still wins.
        if (System.Environment.GetEnvironmentVariable("DOTNET_gcServer") is null)
        {
            info.Environment["DOTNET_gcServer"] = "0";
        }

        foreach (var (name, value) in Environment)
        {
            info.Environment[name] = value;
        }

        Http?.Dispose();
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(30) };
        Grpc?.Dispose();
        Grpc = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}", new GrpcChannelOptions { HttpHandler = TunedGrpcHandler(), DisposeHttpClient = true });
        GrpcPort = grpc;
        GrpcDefault?.Dispose();
        GrpcDefault = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
        var started = Stopwatch.StartNew();
        _process = Process.Start(info) ?? throw new InvalidOperationException("edgeml did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                Console.Error.WriteLine("agent: " + line);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        while (started.Elapsed < TimeSpan.FromMinutes(3))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"edgeml run exited with {_process.ExitCode}");
            }

            try
            {
                using var ready = await Http.GetAsync("/v2/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return started.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("edgeml run did not become ready within 3 minutes");
    }

    /// <summary>SIGTERM, as a container stop does, and the wait for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(guard.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>The agent's resident set (VmRSS) in MB, and its anonymous (heaps, ONNX Runtime's arenas) and file-backed (code) parts, from <c>/proc</c>.</summary>
    public (double Total, double Anonymous, double File) ResidentMegabytes()
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            var parts = line.Split([':', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts is [var name, _, "kB"] && (name == "VmRSS" || name.StartsWith("Rss", StringComparison.Ordinal)))
            {
                values[parts[0]] = long.Parse(parts[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return (values.GetValueOrDefault("VmRSS", double.NaN), values.GetValueOrDefault("RssAnon", double.NaN), values.GetValueOrDefault("RssFile", double.NaN));
    }

    /// <summary>
    /// Every byte the agent's managed code has allocated so far, exact (.NET's <c>dotnet.gc.heap.total_allocated</c> on
    /// the agent's metrics port), where EventPipe's allocation ticks are 100 KB apart.
    /// </summary>
    public async Task<long> AllocatedBytesAsync() => (long)(await ScrapeAsync("dotnet_gc_heap_total_allocated_bytes_total"))[0];

    /// <summary>The engine's time (<c>edgeml.inference.duration</c>: from the request reaching the engine to its answer) so far for <paramref name="model"/>: seconds and calls.</summary>
    public async Task<(double Seconds, long Calls)> EngineTimeAsync(string model)
    {
        var values = await ScrapeAsync($"edgeml_inference_duration_seconds_sum{{model=\"{model}\"}}", $"edgeml_inference_duration_seconds_count{{model=\"{model}\"}}");
        return (values[0], (long)values[1]);
    }

    /// <summary>The values of the named samples in one scrape of the metrics port (0 for a sample not there yet).</summary>
    private async Task<double[]> ScrapeAsync(params string[] samples)
    {
        var lines = (await Http.GetStringAsync(new Uri($"http://127.0.0.1:{_metricsPort}/metrics"))).Split('\n');
        return [.. samples.Select(name => lines.FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal)) is { } line
            ? double.Parse(line[(name.Length + 1)..].Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture)
            : 0)];
    }

    /// <summary>The CPU time (user and system) the agent has used so far, from <c>/proc/PID/stat</c> (10 ms ticks).</summary>
    public TimeSpan CpuTime()
    {
        // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http?.Dispose();
        Grpc?.Dispose();
        GrpcDefault?.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static async Task CliAsync(string agentDll, params string[] args)
    {
        var info = Command(agentDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"edgeml {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    private static ProcessStartInfo Command(string agent)
    {
        var native = !agent.EndsWith(".dll", StringComparison.Ordinal);
        var info = new ProcessStartInfo(native ? agent : System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!native)
        {
            info.ArgumentList.Add(agent);
        }

        return info;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
