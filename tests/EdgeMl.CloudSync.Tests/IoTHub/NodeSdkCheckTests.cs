using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

/// <summary>
/// Keeps the simulator honest: the official Node.js SDK (azure-iot-device-mqtt, installed by
/// scripts/setup.d/node-sdk.sh) connects, reads the twin, patches reported, receives a desired patch,
/// answers a method and sends telemetry; every step is asserted on both sides.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class NodeSdkCheckTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly Sim _sim = new();

    public Task InitializeAsync() => _sim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private static string CheckDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeMl.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "node-sdk-check");
            }
        }

        throw new InvalidOperationException("The repository root (EdgeMl.sln) was not found above the test binaries.");
    }

    private static async Task EnsureInstalledAsync(string dir)
    {
        if (Directory.Exists(Path.Combine(dir, "node_modules", "azure-iot-device-mqtt")))
        {
            return;
        }

        // scripts/setup.sh normally did this; a bare `dotnet test` installs the pinned lock file itself.
        var script = Path.GetFullPath(Path.Combine(dir, "..", "..", "scripts", "setup.d", "node-sdk.sh"));
        using var setup = Process.Start(new ProcessStartInfo("bash", [script]) { UseShellExecute = false })!;
        await setup.WaitForExitAsync().WaitAsync(Guard);
        Assert.True(setup.ExitCode == 0, $"{script} failed with {setup.ExitCode}");
    }

    [Fact]
    public async Task NodeSdk_DeviceAndModuleFlows_WorkAgainstSimulator()
    {
        var dir = CheckDirectory();
        await EnsureInstalledAsync(dir);
        var device = _sim.AddDevice("nodedev");
        var module = _sim.AddModule("nodeedge", "nodemod");
        await _sim.UpdateDesiredAsync(device, new JsonObject { ["threshold"] = 0.8 });
        await _sim.UpdateDesiredAsync(module, new JsonObject { ["modelName"] = "ocr-cls" });
        var caFile = IoTHubTestHarness.WriteCaFile(_sim);
        var start = new ProcessStartInfo("node", ["check.js"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            Environment =
            {
                ["DEVICE_CONNECTION_STRING"] = _sim.ConnectionString(device),
                ["CA_FILE"] = caFile,
                ["EdgeHubConnectionString"] = _sim.ConnectionString(module),
                ["EdgeModuleCACertificateFile"] = caFile,
            },
        };

        using var node = Process.Start(start)!;
        var stderr = node.StandardError.ReadToEndAsync();
        var steps = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        MethodInvocationResult? method = null;
        long pushedVersion = 0;
        try
        {
            using var cts = new CancellationTokenSource(Guard);
            while (await node.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                output.WriteLine(line);
                var json = JsonNode.Parse(line)!.AsObject();
                var step = json["step"]!.GetValue<string>();
                steps[step] = json;
                if (step == "device-ready")
                {
                    // The SDK subscribes lazily when listeners are added; wait until the simulator has both.
                    await _sim.WaitForAsync(() => device.CurrentSubscriptions.Contains("$iothub/twin/PATCH/properties/desired/#")
                                                  && device.CurrentSubscriptions.Contains("$iothub/methods/POST/#"), Guard, "the Node SDK's subscriptions");
                    pushedVersion = await _sim.UpdateDesiredAsync(device, new JsonObject { ["pushed"] = 42 });
                    method = await _sim.InvokeMethodAsync(device, "echo", new JsonObject { ["x"] = 1 }, TimeSpan.FromSeconds(30));
                    await node.StandardInput.WriteLineAsync("method-done");
                    await node.StandardInput.FlushAsync(cts.Token);
                }
                else if (step is "done" or "error")
                {
                    break;
                }
            }

            await node.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }

            output.WriteLine(await stderr);
            File.Delete(caFile);
        }

        Assert.False(steps.ContainsKey("error"), steps.GetValueOrDefault("error")?.ToJsonString());
        Assert.Equal(0, node.ExitCode);

        // Twin read: the SDK saw what the simulator holds.
        Assert.Equal(0.8, steps["device-twin"]["threshold"]!.GetValue<double>());
        Assert.Equal(2, steps["device-twin"]["desiredVersion"]!.GetValue<long>());
        // Reported patch: landed in the simulator's twin with a new version.
        Assert.True(device.Twin.Reported["fromNode"]!.GetValue<bool>());
        Assert.Equal(2, device.Twin.ReportedVersion);
        // Desired patch: pushed by the simulator, received by the SDK with its version.
        Assert.Equal(42, steps["device-desired"]["pushed"]!.GetValue<int>());
        Assert.Equal(pushedVersion, steps["device-desired"]["version"]!.GetValue<long>());
        // Direct method: answered by the SDK's handler.
        Assert.NotNull(method);
        Assert.Equal(200, method.Status);
        Assert.Equal(1, JsonNode.Parse(method.Payload!)!["echo"]!["x"]!.GetValue<int>());
        Assert.Equal("echo", JsonNode.Parse(method.Payload!)!["name"]!.GetValue<string>());
        // Telemetry with system and application properties.
        var sent = _sim.Messages.Single(m => m.IdentityKey == device.Key);
        Assert.Equal("application/json", sent.SystemProperties["$.ct"]);
        Assert.Equal("utf-8", sent.SystemProperties["$.ce"]);
        Assert.Equal("node-1", sent.SystemProperties["$.mid"]);
        Assert.Equal("corr-1", sent.SystemProperties["$.cid"]);
        Assert.Equal("high", sent.ApplicationProperties["alert"]);
        Assert.Equal("a/b c", sent.ApplicationProperties["path"]);
        Assert.Contains("\"label\":\"cat\"", sent.BodyText, StringComparison.Ordinal);
        // Module through EdgeHubConnectionString + EdgeModuleCACertificateFile.
        Assert.True(steps.ContainsKey("module-connected"));
        Assert.Equal("ocr-cls", steps["module-reported"]["modelName"]!.GetValue<string>());
        Assert.Equal(module.Twin.DesiredVersion, steps["module-reported"]["desiredVersion"]!.GetValue<long>());
        Assert.Equal(1, module.Twin.Reported["moduleFromNode"]!.GetValue<int>());
        var output1 = _sim.Messages.Single(m => m.IdentityKey == module.Key);
        Assert.Equal("results", output1.OutputName);
        Assert.Equal("result", output1.ApplicationProperties["kind"]);
        Assert.Equal("out-body", output1.BodyText);
        Assert.StartsWith("sim-hub.azure-devices.net/nodeedge/nodemod/", module.LastUserName, StringComparison.Ordinal);
    }
}
