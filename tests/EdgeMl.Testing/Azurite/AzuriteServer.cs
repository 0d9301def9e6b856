using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EdgeMl.Testing.Azurite;

/// <summary>
/// A real Azurite blob service (from npm, installed by <c>scripts/setup.d/azurite.sh</c> into
/// <c>.tools/azurite</c>) on an ephemeral loopback port, persisting to a temporary folder so it can be stopped
/// and started again (an outage) without losing blobs. Disposing stops it and deletes the folder.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>The well-known development account of the storage emulators.</summary>
    public const string AccountName = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _script;
    private readonly string _location;
    private Process? _process;

    private AzuriteServer(string script, int port)
    {
        _script = script;
        Port = port;
        _location = Directory.CreateTempSubdirectory("edgeml-azurite-").FullName;
    }

    public int Port { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/{AccountName};";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The azurite-blob script, or null when Azurite is not installed.</summary>
    public static string? Locate()
    {
        var custom = Environment.GetEnvironmentVariable("EDGEML_AZURITE_BLOB");
        if (!string.IsNullOrEmpty(custom) && File.Exists(custom))
        {
            return custom;
        }

        var script = Path.Combine(ModelFixtures.RepositoryRoot, ".tools", "azurite", "node_modules", "azurite", "dist", "src", "blob", "main.js");
        return File.Exists(script) ? script : null;
    }

    /// <summary>Why Azurite tests cannot run here, or null when they can.</summary>
    public static string? Unavailable() => Locate() is null
        ? "Azurite is not installed: run scripts/setup.d/azurite.sh (npm) first"
        : null;

    public static async Task<AzuriteServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var script = Locate() ?? throw new InvalidOperationException(Unavailable());
        var server = new AzuriteServer(script, FreePort());
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>Starts the service (again) on the same port and folder; returns once it answers HTTP.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            _script, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", _location, "--silent", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
        })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} on port {Port}");
            }

            try
            {
                // An HTTP answer, whatever its status: a port that accepts is not yet a blob service that answers
                // (under load the first request after the port opened has failed).
                using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                using var answer = await client.GetAsync(new Uri($"http://127.0.0.1:{Port}/devstoreaccount1?comp=list"), cancellationToken);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The 5 s timeout: still starting.
            }
        }

        throw new TimeoutException($"Azurite did not listen on port {Port} within 60 s");
    }

    /// <summary>
    /// Stops the service (the storage outage) the way a service stops, with SIGTERM, so Azurite saves its metadata
    /// (it keeps it in memory and saves it periodically; a SIGKILL would lose recent containers and blobs).
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
