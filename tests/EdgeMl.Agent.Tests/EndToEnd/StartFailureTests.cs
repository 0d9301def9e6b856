using System.Net;
using System.Net.Sockets;
using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// <c>edgeml run</c> with one of its ports taken (another module, an agent still running): exit 6 with the reason in
/// one line, after what had started stopped. The model is being pulled and loaded while the port fails, as on a device
/// that starts with a desired model: the host alone would only dispose, and a load still inside ONNX Runtime then
/// aborted the process as it exited (exit 134, "Fatal error in cpuinfo").
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class StartFailureTests : IDisposable
{
    private const string Model = "ocr-cls";

    private readonly TestPackages.TempFolder _temp = new();

    [Theory]
    [InlineData("http")]
    [InlineData("grpc")]
    [InlineData("metrics")]
    public async Task Run_APortInUse_Exits6WithTheReasonAfterStoppingWhatStarted(string taken)
    {
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(_temp.Sub("pkg"), Model, 1, key);
        TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = Path.Combine(_temp.Path, "trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        List<string> settings =
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={_temp.Sub("registry")}",
            $"--EdgeMl:Desired:models:{Model}:version=latest",
            $"--EdgeMl:Desired:models:{Model}:providers=cpu",
        ];
        if (taken == "grpc")
        {
            settings.Add($"--EdgeMl:Grpc:Urls=http://127.0.0.1:{port}");
        }
        else if (taken == "metrics")
        {
            settings.Add($"--EdgeMl:MetricsUrls=http://127.0.0.1:{port}");
        }

        await using var agent = AgentProcess.Start(settings, httpPort: taken == "http" ? port : null);
        var code = await agent.WaitForExitAsync();

        var output = agent.Output;
        Assert.True(code == ExitCodes.StartFailed, $"edgeml run exited {code}, not {ExitCodes.StartFailed}:\n{output}");
        Assert.Contains($"edgeml run: the agent could not start: Failed to bind to address http://127.0.0.1:{port}: address already in use.", output, StringComparison.Ordinal);

        // The host's own line for a failed start comes once, not once more from the gRPC server's host.
        Assert.True(Occurrences(output, "Hosting failed to start") == 1, $"'Hosting failed to start' not exactly once:\n{output}");

        // Nothing ran on after the stop: no background service failing as the host went, no native abort.
        foreach (var after in (string[])["BackgroundService failed", "crit:", "Fatal error", "E:onnxruntime", "Unhandled exception"])
        {
            Assert.False(output.Contains(after, StringComparison.Ordinal), $"'{after}' in the output of a failed start:\n{output}");
        }
    }

    public void Dispose() => _temp.Dispose();

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
