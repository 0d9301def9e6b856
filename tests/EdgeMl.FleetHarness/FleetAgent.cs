using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.FleetHarness;

/// <summary>One real <c>edgeml run</c> of the fleet: its own module identity, data folder and loopback ports.</summary>
internal sealed class FleetAgent : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private const string RetryMarker = "IoT Hub connection attempt failed; retrying in ";
    private readonly Queue<string> _tail = new();
    private readonly List<DateTimeOffset> _plannedAttempts = [];

    private FleetAgent(Process process, SimulatedIdentity identity, int httpPort)
    {
        _process = process;
        Identity = identity;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public SimulatedIdentity Identity { get; }

    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Exit code 6: a port it was given was taken before it could bind it (the agent's documented code).</summary>
    public bool LostAPort => _process.HasExited && _process.ExitCode == 6;

    /// <summary>The last lines the agent wrote, for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>
    /// When the agent's back-off planned its next connection attempts, read from its log ("retrying in …" after a
    /// failed attempt, stamped by the console logger): the jitter as the agent drew it, apart from how fast the hub answers.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> PlannedAttempts
    {
        get
        {
            lock (_plannedAttempts)
            {
                return [.. _plannedAttempts];
            }
        }
    }

    /// <summary>Resident memory (VmRSS) in bytes, from /proc.</summary>
    public long ResidentBytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Starts the agent on free loopback ports with what a fleet member needs and nothing more: the HTTP API, the
    /// hub connection, and the metrics port and embedded MQTT broker (neither can be turned off); no gRPC.
    /// </summary>
    public static FleetAgent Start(SimulatedIdentity identity, string connectionString, string dataFolder, string trustedKey, string hubCa, IEnumerable<string> extra)
    {
        var http = FreePort();
        List<string> args =
        [
            "run",
            $"--EdgeMl:Http:Urls=http://127.0.0.1:{http}",
            "--EdgeMl:Grpc:Urls=",
            $"--EdgeMl:MetricsUrls=http://127.0.0.1:{FreePort()}",
            $"--EdgeMl:Mqtt:Port={FreePort()}",
            $"--EdgeMl:DataDirectory={dataFolder}",
            $"--EdgeMl:DeviceId={identity.DeviceId}",
            $"--EdgeMl:TrustedKeyFiles:0={trustedKey}",
            $"--EdgeMl:IoTHub:ConnectionString={connectionString}",
            $"--EdgeMl:IoTHub:TrustedCaCertificatePath={hubCa}",
            "--Logging:LogLevel:Default=Warning",
        ];
        args.AddRange(extra);
        var info = EdgeMlProcess.StartInfo(args);
        // Workstation GC, as a small device runs it: fifty server-GC heaps would not fit beside the other work here.
        info.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(info) ?? throw new InvalidOperationException("edgeml did not start");
        return new FleetAgent(process, identity, http);
    }

    /// <summary>Waits until <c>/v2/health/ready</c> says 200; fails with the agent's output if it exits first.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(timeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Identity.Key}: edgeml exited with {_process.ExitCode}:\n{Tail}");
            }

            try
            {
                using var response = await Http.GetAsync("/v2/health/ready", guard.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (guard.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(200, guard.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        throw new TimeoutException($"{Identity.Key}: not ready within {timeout}:\n{Tail}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        Http.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        var marker = line.IndexOf(RetryMarker, StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (marker > 0 && space > 0
            && DateTimeOffset.TryParse(line.AsSpan(0, space), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            && line.IndexOf(": ", marker, StringComparison.Ordinal) is var end and > 0
            && TimeSpan.TryParse(line.AsSpan(marker + RetryMarker.Length, end - marker - RetryMarker.Length), CultureInfo.InvariantCulture, out var delay))
        {
            lock (_plannedAttempts)
            {
                _plannedAttempts.Add(at + delay);
            }
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > KeptLines)
            {
                _tail.Dequeue();
            }
        }
    }
}
