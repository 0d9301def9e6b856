using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing.Mqtt;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>The command-line settings of an <c>edgeml run</c> against the IoT Hub simulator (TLS) and Mosquitto (TLS, password), with short waits for tests.</summary>
internal static class EndToEndSettings
{
    public static IEnumerable<string> Agent(string root, string dataFolder, string deviceId, IoTHubSimulator.IoTHubSimulator hub, SimulatedIdentity module, SigningKey key, MosquittoBroker broker)
    {
        var ca = Path.Combine(root, "hub-ca.pem");
        File.WriteAllText(ca, hub.Certificates.CertificateAuthorityPem);
        var trust = Path.Combine(root, "trust.pub.pem");
        File.WriteAllText(trust, key.ExportPublicKeyPem());
        return
        [
            $"--EdgeMl:DataDirectory={dataFolder}",
            $"--EdgeMl:DeviceId={deviceId}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            "--EdgeMl:RetryMinDelay=00:00:00.200",
            "--EdgeMl:RetryMaxDelay=00:00:02",
            "--EdgeMl:StartupDesiredTimeout=00:00:01",
            $"--EdgeMl:IoTHub:ConnectionString={hub.ConnectionString(module)}",
            $"--EdgeMl:IoTHub:TrustedCaCertificatePath={ca}",
            "--EdgeMl:IoTHub:ReconnectMaxDelay=00:00:02",
            "--EdgeMl:Mqtt:Host=127.0.0.1",
            $"--EdgeMl:Mqtt:Port={broker.Port}",
            $"--EdgeMl:Mqtt:CaCertificateFile={broker.CaFile}",
            $"--EdgeMl:Mqtt:Username={MosquittoBroker.User}",
            $"--EdgeMl:Mqtt:Password={MosquittoBroker.Secret}",
            "--EdgeMl:Mqtt:ReconnectDelayMax=00:00:02",
        ];
    }
}
