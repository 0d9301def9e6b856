using System.Net;
using System.Text.Json.Nodes;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using EdgeMl.Testing.Mqtt;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// Whoever reads the device's health and logs in the cloud must find no secret there: the real <c>edgeml run</c> as
/// an IoT Edge module (IoT Hub simulator, TLS) reporting to a real Mosquitto, steered to registries whose strings
/// carry a SAS signature and an account key, with keys and passwords in its environment.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class HealthSecretsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string DeviceId = "edge-secrets";
    private const string SasSecret = "S4sS1gnature0123";
    private const string KeySecret = "Acc0untKey4567==";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["API_KEY"] = "api-key-7f3a",
        ["STORAGE_ACCOUNT_KEY"] = "storage-account-key-91c2",
        ["MQTT_PASS"] = "mqtt-pass-5d0e",
    };

    private readonly TestPackages.TempFolder _temp = new();
    private readonly IoTHubSimulator.IoTHubSimulator _hub = new(new IoTHubSimulatorOptions { EdgeHubMode = true });
    private SimulatedIdentity _module = null!;
    private MosquittoBroker _broker = null!;

    public async Task InitializeAsync()
    {
        await _hub.StartAsync();
        _module = _hub.AddModule(DeviceId, "edgeml");
        _broker = await MosquittoBroker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _broker.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Health_RegistriesCarryingASasAndAnAccountKey_NoSecretOnTwinTelemetryMqttApiOrSupportBundle()
    {
        var closed = AgentProcess.FreePort();
        var sas = $"http://127.0.0.1:{closed}/models?sv=2024-05-04&sr=c&sig={SasSecret}";
        var keyed = $"AccountName=acct;AccountKey={KeySecret};BlobEndpoint=http://127.0.0.1:{closed}/acct";
        await _hub.UpdateDesiredAsync(_module, Desired(sas));
        await using var mqtt = await MqttSubscriber.ConnectAsync(_broker.Port, $"edgeml/{DeviceId}/#", _broker.CaFile, MosquittoBroker.User, MosquittoBroker.Secret);
        await using var agent = AgentProcess.Start(Settings(), environment: Environment);
        try
        {
            await agent.WaitUntilLiveAsync();

            // Each registry reaches every health path, masked.
            foreach (var masked in new[] { $"http://127.0.0.1:{closed}/models?***", "AccountName=acct;AccountKey=***;" })
            {
                if (!masked.StartsWith("http", StringComparison.Ordinal))
                {
                    await _hub.UpdateDesiredAsync(_module, Desired(keyed));
                }
                await WaitUntilAsync(() => Reported()["health"]?["sync"]?["registry"]?.GetValue<string>().Contains(masked, StringComparison.Ordinal) == true, agent, $"twin health with {masked}");
                await WaitUntilAsync(() => mqtt.Messages.Any(m => m.Topic.EndsWith("/health", StringComparison.Ordinal) && m.Payload.Contains(masked, StringComparison.Ordinal)), agent, $"MQTT health with {masked}");
                await WaitUntilAsync(() => _hub.Messages.Any(m => m.ApplicationProperties.GetValueOrDefault("type") == "health" && m.BodyText.Contains(masked, StringComparison.Ordinal)), agent, $"health telemetry with {masked}");
            }
            // What a subscriber arriving later is handed: the retained health.
            await using var late = await MqttSubscriber.ConnectAsync(_broker.Port, $"edgeml/{DeviceId}/health", _broker.CaFile, MosquittoBroker.User, MosquittoBroker.Secret);
            var retained = await late.WaitForAsync($"edgeml/{DeviceId}/health", p => p.Contains("AccountKey=***", StringComparison.Ordinal));
            Assert.True(retained.Retained);
            var api = await agent.Http.GetStringAsync("/api/health");
            var bundle = await _hub.InvokeMethodAsync(_module, "getSupportBundle", null, Guard);
            Assert.Equal(200, bundle.Status);

            var seen = new List<(string Where, string Text)>
            {
                ("twin reported", Reported().ToJsonString()),
                ("/api/health", api),
                ("getSupportBundle", bundle.Payload!),
            };
            seen.AddRange(mqtt.Messages.Select(m => ($"MQTT {m.Topic}", m.Payload)));
            seen.AddRange(_hub.Messages.Select(m => ($"hub message {m.Topic}", m.BodyText)));
            string[] secrets = [SasSecret, KeySecret, .. Environment.Values, MosquittoBroker.Secret, _module.PrimaryKey!];
            foreach (var (where, text) in seen)
            {
                foreach (var secret in secrets)
                {
                    Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} carries '{secret}': {text}");
                }
            }

            Assert.Contains("AccountKey=***", api, StringComparison.Ordinal);
            Assert.Equal("***", JsonNode.Parse(bundle.Payload!)!["configuration"]!["EdgeMl"]!["Mqtt"]!["Password"]!.GetValue<string>());
        }
        catch
        {
            output.WriteLine(agent.Output);
            throw;
        }
    }

    private JsonObject Reported() => _module.Twin.Reported;

    private IEnumerable<string> Settings()
    {
        var ca = Path.Combine(_temp.Path, "hub-ca.pem");
        File.WriteAllText(ca, _hub.Certificates.CertificateAuthorityPem);
        return
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:DeviceId={DeviceId}",
            "--EdgeMl:RetryMinDelay=00:00:00.200",
            "--EdgeMl:RetryMaxDelay=00:00:02",

            // From the start, not only once the twin is read: the first telemetry would otherwise wait a minute.
            "--EdgeMl:Desired:telemetryInterval=00:00:05",
            $"--EdgeMl:IoTHub:ConnectionString={_hub.ConnectionString(_module)}",
            $"--EdgeMl:IoTHub:TrustedCaCertificatePath={ca}",
            "--EdgeMl:Mqtt:Host=127.0.0.1",
            $"--EdgeMl:Mqtt:Port={_broker.Port}",
            $"--EdgeMl:Mqtt:CaCertificateFile={_broker.CaFile}",
            $"--EdgeMl:Mqtt:Username={MosquittoBroker.User}",
            $"--EdgeMl:Mqtt:Password={MosquittoBroker.Secret}",
        ];
    }

    private static JsonObject Desired(string registry) => new()
    {
        ["registry"] = registry,
        ["models"] = new JsonObject { ["ocr-cls"] = new JsonObject { ["version"] = 1, ["providers"] = "cpu" } },
        ["healthReportInterval"] = "00:00:01",
        ["telemetryInterval"] = "00:00:05",
    };

    private static async Task WaitUntilAsync(Func<bool> condition, AgentProcess agent, string what)
    {
        var guard = DateTime.UtcNow + Guard;
        while (!condition())
        {
            if (agent.HasExited || DateTime.UtcNow > guard)
            {
                throw new TimeoutException($"not seen (agent exited: {agent.HasExited}): {what}");
            }

            await Task.Delay(50);
        }
    }
}
