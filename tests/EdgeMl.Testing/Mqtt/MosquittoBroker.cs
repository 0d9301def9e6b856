using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeMl.Testing.Mqtt;

/// <summary>
/// A real Mosquitto (Debian's, installed by scripts/setup.d/mosquitto.sh) on a free loopback port, with TLS by a
/// CA made for the test and a password file; it can be stopped and started again on the same port.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    public const string User = "edgeml";
    public const string Secret = "s3cret-pass";
    private const string Executable = "/usr/sbin/mosquitto";

    private readonly string _folder = Directory.CreateTempSubdirectory("edgeml-mosquitto-").FullName;
    private Process? _process;

    private MosquittoBroker()
    {
        Port = FreePort();
    }

    public int Port { get; }

    public string CaFile => Path.Combine(_folder, "ca.pem");

    public static bool IsInstalled => File.Exists(Executable);

    public static async Task<MosquittoBroker> StartAsync()
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException($"{Executable} is missing; run scripts/setup.d/mosquitto.sh");
        }

        var broker = new MosquittoBroker();
        broker.WriteConfiguration();
        await broker.StartAgainAsync();
        return broker;
    }

    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Executable, ["-c", Path.Combine(_folder, "mosquitto.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("mosquitto did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var guard = Stopwatch.StartNew();
        while (guard.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"mosquitto did not listen on {Port}");
    }

    /// <summary>Kills the broker, as a crash or a power cut would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private void WriteConfiguration()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=EdgeMl Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));

        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        var passwd = Path.Combine(_folder, "passwd");
        using (var tool = Process.Start("/usr/bin/mosquitto_passwd", ["-b", "-c", passwd, User, Secret]))
        {
            tool!.WaitForExit();
        }

        File.WriteAllText(Path.Combine(_folder, "mosquitto.conf"), $"""
            user root
            persistence false
            log_dest stderr
            per_listener_settings true
            listener {Port} 127.0.0.1
            cafile {CaFile}
            certfile {Path.Combine(_folder, "server.pem")}
            keyfile {Path.Combine(_folder, "server.key")}
            allow_anonymous false
            password_file {passwd}

            """);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
