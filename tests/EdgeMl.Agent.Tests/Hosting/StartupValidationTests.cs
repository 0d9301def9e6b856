using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EdgeMl.Agent.Cli;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using EdgeMl.Testing.Mqtt;

namespace EdgeMl.Agent.Tests.Hosting;

/// <summary>
/// The start-up promise of the real <c>edgeml run</c>: every invalid setting listed at once with exit 2, whichever
/// section it is in and whatever else is wrong; a port in use is exit 6 with what to change; never a stack trace.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class StartupValidationTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Run_InvalidSettingsInEverySectionAndTheEmbeddedDesiredState_ListedTogetherExitTwo()
    {
        const string key = "c2VjcmV0LWFjY291bnQta2V5";
        var (code, error) = await RunAsync(
            "--EdgeMl:Http:MaxRequestBodyBytes=-1",
            $"--EdgeMl:Upload:ConnectionString=AccountName=devstore;AccountKey{key}",
            "--EdgeMl:RetryMinDelay=00:20:00",
            "--EdgeMl:RetryMaxDelay=00:10:00",
            "--EdgeMl:Capture:ChannelCapacity=1",
            "--EdgeMl:Desired:models:ocr-cls:batching:maxBatchSize=0",
            "--EdgeMl:Desired:models:ocr-cls:policy=bogus",
            "--EdgeMl:Desired:telemetryInterval=abc");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("edgeml run: the configuration is not valid:", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Http: MaxRequestBodyBytes: The field HttpApiOptions.MaxRequestBodyBytes must be between 1024", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Upload:ConnectionString is not a storage connection string", error, StringComparison.Ordinal);
        Assert.DoesNotContain(key, error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:RetryMinDelay must not exceed EdgeMl:RetryMaxDelay", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Capture: The field ChannelCapacity must be between 16 and 1000000", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Desired: models.ocr-cls.batching.maxBatchSize: must be a whole number from 1 to 1024, not 0", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Desired: models.ocr-cls.policy: must be \"prefer\", \"require\" or \"strict\", not \"bogus\"", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Desired: telemetryInterval: must be a duration", error, StringComparison.Ordinal);
        AssertNoStackTrace(error);
    }

    [Fact]
    public async Task Run_ValuesOfTheWrongType_EachNamedWithItsSettingExitTwo()
    {
        var (code, error) = await RunAsync("--EdgeMl:PullTimeout=abc", "--EdgeMl:Http:MaxRequestBodyBytes=lots", "--EdgeMl:Capture:Store:Synchronous=sometimes");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("EdgeMl:PullTimeout: 'abc' is not a time span", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Http:MaxRequestBodyBytes: 'lots' is not a whole number", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Capture:Store:Synchronous: 'sometimes' is not a CaptureSynchronous: one of Off, Normal, Full", error, StringComparison.Ordinal);
        AssertNoStackTrace(error);
    }

    [Fact]
    public async Task Run_EmbeddedMqttPortInUse_ExitsSixSayingWhatToChange()
    {
        // A local Mosquitto on the broker's port, as many IoT developers have.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (code, error) = await RunAsync(mqttPort: port);

        Assert.Equal(ExitCodes.StartFailed, code);
        Assert.Contains($"the embedded MQTT broker cannot listen on 127.0.0.1:{port}: the port is in use", error, StringComparison.Ordinal);
        Assert.Contains("Set EdgeMl:Mqtt:Port to a free port", error, StringComparison.Ordinal);
        AssertNoStackTrace(error);
    }

    [Fact]
    public async Task Run_MqttPort_MovesTheEmbeddedBrokerThatLocalToolsSubscribeTo()
    {
        var port = AgentProcess.FreePort();
        await using var agent = AgentProcess.Start([$"--EdgeMl:DataDirectory={_temp.Sub("data")}", $"--EdgeMl:Mqtt:Port={port.ToString(CultureInfo.InvariantCulture)}", "--EdgeMl:DeviceId=moved"]);
        await agent.WaitUntilLiveAsync();

        await using var subscriber = await ConnectWhenListeningAsync(port, agent);
        var status = await subscriber.WaitForAsync("edgeml/moved/status", p => p == "online");

        Assert.True(status.Retained);
    }

    private static async Task<MqttSubscriber> ConnectWhenListeningAsync(int port, AgentProcess agent)
    {
        // The broker starts with the host, the API with it; a connect refused a moment after /v2/health/live is not the bug.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await MqttSubscriber.ConnectAsync(port, "edgeml/#");
            }
            catch (Exception) when (attempt < 50 && !agent.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    private async Task<(int Code, string Error)> RunAsync(params string[] settings) => await RunAsync(null, settings);

    private async Task<(int Code, string Error)> RunAsync(int? mqttPort, params string[] settings)
    {
        var (code, output, error) = await EdgeMlProcess.RunAsync(
            [
                "run",
                $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
                $"--EdgeMl:Http:Urls=http://127.0.0.1:{AgentProcess.FreePort()}",
                $"--EdgeMl:MetricsUrls=http://127.0.0.1:{AgentProcess.FreePort()}",
                "--EdgeMl:Grpc:Urls=http://127.0.0.1:0",
                $"--EdgeMl:Mqtt:Port={mqttPort ?? AgentProcess.FreePort()}",
                .. settings,
            ],
            Guard);
        return (code, error + output);
    }

    private static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("Unhandled exception", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s+at \S+\(", text);
    }
}
