using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>Who we are and where we connect, resolved once at start from the options or the IoT Edge environment.</summary>
internal sealed record IoTHubIdentity(
    string IotHubHostName,
    string ConnectHost,
    int Port,
    string DeviceId,
    string? ModuleId,
    ISasTokenSigner? Signer,
    string? KeyName,
    X509Certificate2? ClientCertificate,
    X509Certificate2Collection? TrustedRoots)
{
    public string ClientId => ModuleId is null ? DeviceId : $"{DeviceId}/{ModuleId}";

    /// <summary>True when talking to edgeHub (a gateway), which answers reported patches without <c>$version</c>.</summary>
    public bool ViaGateway { get; init; }

    public string UserName(string apiVersion, string productInfo) =>
        $"{IotHubHostName}/{ClientId}/?api-version={apiVersion}&DeviceClientType={Uri.EscapeDataString(productInfo)}";
}

internal static class IoTHubIdentityResolver
{
    public static async Task<IoTHubIdentity> ResolveAsync(IoTHubClientOptions options, Func<string, string?> env, CancellationToken cancellationToken)
    {
        var defaultPort = options.Transport == IoTHubTransport.MqttWebSockets ? 443 : 8883;
        var connectionString = options.ConnectionString;
        if (string.IsNullOrEmpty(connectionString))
        {
            connectionString = env("EdgeHubConnectionString") ?? env("IotHubConnectionString");
        }

        var caPath = options.TrustedCaCertificatePath ?? env("EdgeModuleCACertificateFile");
        var roots = string.IsNullOrEmpty(caPath) ? null : LoadPem(caPath);

        if (!string.IsNullOrEmpty(connectionString))
        {
            var cs = IoTHubConnectionString.Parse(connectionString);
            var (host, port) = SplitHostPort(cs.GatewayHostName ?? cs.HostName, options.Port == 0 ? defaultPort : options.Port);
            X509Certificate2? clientCert = null;
            if (cs.UsesX509)
            {
                var certPath = options.ClientCertificatePath ?? throw new InvalidOperationException("x509=true needs ClientCertificatePath.");
                clientCert = X509Certificate2.CreateFromPemFile(certPath, options.ClientKeyPath);
            }

            return new IoTHubIdentity(cs.HostName, host, port, cs.DeviceId, cs.ModuleId,
                cs.SharedAccessKey is null ? null : new SharedKeySigner(cs.SharedAccessKey), cs.SharedAccessKeyName, clientCert, roots)
            {
                ViaGateway = cs.GatewayHostName is not null,
            };
        }

        return await ResolveFromEdgeAsync(options, env, roots, defaultPort, cancellationToken);
    }

    private static async Task<IoTHubIdentity> ResolveFromEdgeAsync(IoTHubClientOptions options, Func<string, string?> env,
        X509Certificate2Collection? roots, int defaultPort, CancellationToken cancellationToken)
    {
        string Require(string name) => env(name) is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException($"No IoT Hub connection string is configured and the IoT Edge variable {name} is not set.");

        var workloadUri = Require("IOTEDGE_WORKLOADURI");
        var deviceId = Require("IOTEDGE_DEVICEID");
        var moduleId = Require("IOTEDGE_MODULEID");
        var hub = Require("IOTEDGE_IOTHUBHOSTNAME");
        var generationId = Require("IOTEDGE_MODULEGENERATIONID");
        var scheme = Require("IOTEDGE_AUTHSCHEME");
        if (!string.Equals(scheme, "sasToken", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"IOTEDGE_AUTHSCHEME is '{scheme}'; only sasToken is supported.");
        }

        var gateway = env("IOTEDGE_GATEWAYHOSTNAME");
        var workload = new WorkloadApiClient(new Uri(workloadUri));
        if (!string.IsNullOrEmpty(gateway) && roots is null)
        {
            // As the C# SDK: the edge CA comes from the workload trust bundle only when a gateway is set.
            roots = await workload.GetTrustBundleAsync(cancellationToken);
        }

        var (host, port) = SplitHostPort(string.IsNullOrEmpty(gateway) ? hub : gateway, options.Port == 0 ? defaultPort : options.Port);
        return new IoTHubIdentity(hub, host, port, deviceId, moduleId, new WorkloadApiSigner(workload, moduleId, generationId), null, null, roots)
        {
            ViaGateway = !string.IsNullOrEmpty(gateway),
        };
    }

    internal static (string Host, int Port) SplitHostPort(string value, int defaultPort)
    {
        var colon = value.LastIndexOf(':');
        if (colon > 0 && value.IndexOf(':', StringComparison.Ordinal) == colon &&
            int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return (value[..colon], port);
        }

        return (value, defaultPort);
    }

    private static X509Certificate2Collection LoadPem(string path)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(path);
        return collection.Count > 0 ? collection : throw new InvalidOperationException($"No certificate found in '{path}'.");
    }
}
