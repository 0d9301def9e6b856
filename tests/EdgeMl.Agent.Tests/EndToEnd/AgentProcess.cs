using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>The real <c>edgeml run</c> as a child process on free loopback ports, its output kept for failure messages.</summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process, int httpPort, int metricsPort)
    {
        _process = process;
        HttpPort = httpPort;
        MetricsPort = metricsPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int HttpPort { get; }

    public int MetricsPort { get; }

    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The process id, for what <c>/proc</c> says of it.</summary>
    public int Id => _process.Id;

    /// <param name="environment">Variables set for the agent beside the test runner's own.</param>
    /// <param name="unset">Variables of the test runner's own the agent does not inherit.</param>
    public static AgentProcess Start(IEnumerable<string> settings, int? httpPort = null, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? unset = null)
    {
        var http = httpPort ?? FreePort();
        var metrics = FreePort();
        var args = new List<string> { "run", $"--EdgeMl:Http:Urls=http://127.0.0.1:{http}", $"--EdgeMl:MetricsUrls=http://127.0.0.1:{metrics}", "--EdgeMl:Grpc:Urls=http://127.0.0.1:0" };
        args.AddRange(settings);
        var info = EdgeMlProcess.WithInterruptAtDefault(EdgeMlProcess.StartInfo(args));
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        foreach (var name in unset ?? [])
        {
            info.Environment.Remove(name);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("edgeml did not start");
        return new AgentProcess(process, http, metrics);
    }

    /// <summary>Asks <paramref name="condition"/> until it holds; fails with the agent's output if the agent exits or 90 s pass.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var guard = Stopwatch.StartNew();
        while (!await condition())
        {
            if (_process.HasExited || guard.Elapsed > TimeSpan.FromSeconds(90))
            {
                throw new InvalidOperationException($"waited for {what}; edgeml {(_process.HasExited ? $"exited with {_process.ExitCode}" : "is still running")}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until <c>/v2/health/live</c> answers; fails with the agent's output if it exits first.</summary>
    public async Task WaitUntilLiveAsync()
    {
        var guard = Stopwatch.StartNew();
        while (guard.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"edgeml exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync("/v2/health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"edgeml did not come up:\n{Output}");
    }

    /// <summary>
    /// SIGTERM, as IoT Edge (through Docker) and Kubernetes stop a container, or <c>INT</c> as Ctrl+C does;
    /// <see cref="WaitForExitAsync"/> says how it ended.
    /// </summary>
    public async Task TerminateAsync(string signal = "TERM")
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <returns>The exit code; the guard only protects the suite from a hung child.</returns>
    public async Task<int> WaitForExitAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await _process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"edgeml did not exit:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no goodbye to the broker, no flush; what a power cut or an OOM kill does.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Http.Dispose();
        _process.Dispose();
    }

    /// <summary>
    /// A loopback port free now and not handed out before in this test run: the kernel may give the port it just freed
    /// to the next bind, and two settings of one agent on the same port fail its start (seen in CI: gRPC and metrics).
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, 0))
            {
                return port;
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
