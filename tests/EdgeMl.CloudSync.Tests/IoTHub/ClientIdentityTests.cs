using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

/// <summary>Module identities from the IoT Edge environment (workload API over a Unix socket) and X.509 devices.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class ClientIdentityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Sim _sim = new(new IoTHubSimulatorOptions { EdgeHubMode = true });
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"edgeml-workload-{Guid.NewGuid():N}.sock");
    private WorkloadApiServer _workload = null!;

    public async Task InitializeAsync()
    {
        await _sim.StartAsync();
        _workload = await WorkloadApiServer.StartAsync(_sim, "edge01", _socket);
    }

    public async Task DisposeAsync()
    {
        await _workload.DisposeAsync();
        await _sim.DisposeAsync();
    }

    private Dictionary<string, string> EdgeEnvironment(string moduleId) => new()
    {
        ["IOTEDGE_WORKLOADURI"] = _workload.Uri.ToString(),
        ["IOTEDGE_DEVICEID"] = "edge01",
        ["IOTEDGE_MODULEID"] = moduleId,
        ["IOTEDGE_IOTHUBHOSTNAME"] = _sim.HubHostName,
        ["IOTEDGE_GATEWAYHOSTNAME"] = $"localhost:{_sim.Port}",
        ["IOTEDGE_MODULEGENERATIONID"] = "gen-1",
        ["IOTEDGE_AUTHSCHEME"] = "SasToken",
        ["IOTEDGE_APIVERSION"] = "2022-08-03",
    };

    [Fact]
    public async Task Start_IoTEdgeEnvironment_SignsThroughWorkloadApiAndTrustsTheBundle()
    {
        var module = _sim.AddModule("edge01", "infer");
        await using var h = IoTHubTestHarness.Create(_sim, null, output, o => o.TrustedCaCertificatePath = null, EdgeEnvironment("infer"));

        await h.StartAsync();
        await h.WaitForConnectedAsync();
        var patch = await h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["status"] = "ok" }, CancellationToken.None);

        Assert.True(_workload.SignRequests >= 1);
        Assert.StartsWith("SharedAccessSignature sr=sim-hub.azure-devices.net%2Fdevices%2Fedge01%2Fmodules%2Finfer&", module.LastPassword, StringComparison.Ordinal);
        Assert.Equal("sim-hub.azure-devices.net/edge01/infer/?api-version=2021-04-12&DeviceClientType=edgeml%2F1.0", module.LastUserName);
        Assert.True(h.Client.Resolved!.ViaGateway);
        Assert.True(patch.Succeeded, patch.Message);
        Assert.Null(patch.Version);
    }

    [Fact]
    public async Task Reconnect_WorkloadApiFails_ReportsItAndBacksOff()
    {
        var module = _sim.AddModule("edge01", "infer");
        await using var h = IoTHubTestHarness.Create(_sim, null, output, o => o.TrustedCaCertificatePath = null, EdgeEnvironment("infer"));
        await h.StartAsync();
        await h.WaitForConnectedAsync();

        _workload.FailWith = 500;
        await _sim.StopAsync();
        await _sim.StartAsync();
        var failed = await h.AdvanceUntilAsync(s => s.Reason?.Contains("workload API", StringComparison.Ordinal) == true);
        _workload.FailWith = null;
        h.Time.Advance(failed.RetryIn!.Value);
        await h.AdvanceUntilConnectedAsync();

        Assert.Contains("500", failed.Reason, StringComparison.Ordinal);
        Assert.True(failed.RetryIn > TimeSpan.Zero);
        Assert.Equal(2, module.Connections);
    }

    [Fact]
    public async Task Start_IoTEdgeEnvironmentIncomplete_FailsAtStartNamingTheVariable()
    {
        var env = EdgeEnvironment("infer");
        env.Remove("IOTEDGE_MODULEGENERATIONID");
        await using var h = IoTHubTestHarness.Create(_sim, null, output, o => o.TrustedCaCertificatePath = null, env);

        // .NET 10 runs ExecuteAsync wholly in the background: the failure ends the service (and so the host).
        await h.StartAsync();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Client.ExecuteTask!.WaitAsync(IoTHubTestHarness.Guard));

        Assert.Contains("IOTEDGE_MODULEGENERATIONID", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_EdgeHubConnectionStringAndCaFileVariables_UsedInsteadOfWorkloadApi()
    {
        var module = _sim.AddModule("edge01", "infer");
        var caFile = IoTHubTestHarness.WriteCaFile(_sim);
        var env = EdgeEnvironment("infer");
        env["EdgeHubConnectionString"] = _sim.ConnectionString(module, $"localhost:{_sim.Port}");
        env["EdgeModuleCACertificateFile"] = caFile;
        await using var h = IoTHubTestHarness.Create(_sim, null, output, o => o.TrustedCaCertificatePath = null, env);

        await h.StartAsync();
        await h.WaitForConnectedAsync();

        Assert.Equal(0, _workload.SignRequests);
        Assert.Equal("edge01/infer", h.Client.Resolved!.ClientId);
        File.Delete(caFile);
    }

    [Fact]
    public async Task Start_UntrustedServerCertificate_FailsTlsAndRetries()
    {
        var module = _sim.AddModule("edge01", "infer");
        using var other = SimulatorCertificates.Create();
        var otherCa = Path.Combine(Path.GetTempPath(), $"edgeml-other-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(otherCa, other.CertificateAuthorityPem);
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(module), output, o => o.TrustedCaCertificatePath = otherCa);

        await h.StartAsync();
        var failed = await h.WaitForStateAsync(s => s.RetryIn > TimeSpan.Zero);

        Assert.False(failed.IsAuthenticationFailure);
        Assert.Equal(0, module.ConnectAttempts);
        File.Delete(otherCa);
    }

    [Fact]
    public async Task Start_X509Device_AuthenticatedByCertificateThumbprint()
    {
        using var cert = SimulatorCertificates.CreateClientCertificate("x509dev");
        var device = _sim.AddX509Device("x509dev", cert.Thumbprint);
        var certPath = Path.Combine(Path.GetTempPath(), $"edgeml-x509-{Guid.NewGuid():N}.pem");
        var keyPath = certPath + ".key";
        await File.WriteAllTextAsync(certPath, cert.ExportCertificatePem());
        using (var key = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPrivateKey(cert)!)
        {
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(device), output, o =>
        {
            o.ClientCertificatePath = certPath;
            o.ClientKeyPath = keyPath;
        });

        await h.StartAsync();
        await h.WaitForConnectedAsync();

        Assert.True(string.IsNullOrEmpty(device.LastPassword));
        Assert.True(device.IsConnected);
        File.Delete(certPath);
        File.Delete(keyPath);
    }
}
