using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// The README's first command as a new user runs it: <c>./scripts/run.sh</c> in a terminal, then the prediction
/// line it prints, pasted as is; the verbs a field engineer runs against the agent, each in a terminal; Ctrl+C.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed partial class RunScriptTerminalTests : IDisposable
{
    // run.sh builds edgeml first; on a loaded 2-core machine even an up-to-date build takes minutes.
    private static readonly TimeSpan Startup = TimeSpan.FromMinutes(10);
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RunSh_InATerminal_AnswersItsOwnPredictionLineServesEveryAgentVerbAndStopsOnCtrlC()
    {
        var root = ModelFixtures.RepositoryRoot;
        var port = AgentProcess.FreePort();
        var grpcPort = AgentProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["EDGEML_DEMO_DIR"] = _temp.Sub("demo"),
            ["EDGEML_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["EDGEML_GRPC_PORT"] = grpcPort.ToString(CultureInfo.InvariantCulture),
            ["EDGEML_METRICS_PORT"] = AgentProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["EDGEML_MQTT_PORT"] = AgentProcess.FreePort().ToString(CultureInfo.InvariantCulture),

            // The build run.sh starts leaves no build servers behind in the test run.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["UseSharedCompilation"] = "false",
        };
        await using var terminal = Terminal.Start([Path.Combine(root, "scripts", "run.sh")], root, environment);

        await terminal.WaitForAsync("  metrics ", Startup);
        var prediction = PredictionLine().Match(terminal.Output);
        Assert.True(prediction.Success, $"run.sh printed no prediction line:\n{terminal.Output}");
        using var answer = await UntilServedAsync(prediction.Groups["curl"].Value, terminal);

        Assert.Equal("ocr-cls", answer.RootElement.GetProperty("model_name").GetString());
        var probabilities = answer.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(2, probabilities.Length);
        Assert.Equal(1f, probabilities.Sum(), 3);

        // The publish step drew its progress bar on the terminal and went on.
        Assert.Matches(@"ocr-cls/1/model\.onnx \[#{30}\]", terminal.Output);
        Assert.Contains("run: published ocr-cls v1", terminal.Output, StringComparison.Ordinal);

        var api = $"http://127.0.0.1:{port}";
        var here = _temp.Sub("engineer");
        Directory.CreateDirectory(here);
        var (statusCode, status) = await Terminal.EdgeMlAsync(here, "status", "--url", api);
        Assert.True(statusCode == 0, status);
        Assert.Matches(@"ocr-cls: \S+ v1 on cpu \(asked tensorrt,cuda,cpu\)", status);

        var (modelsCode, models) = await Terminal.EdgeMlAsync(here, "models", "--url", api);
        Assert.True(modelsCode == 0, models);
        Assert.Matches(@"(?m)^ocr-cls\s+\S+\s+v1\s+cpu", models);

        var (inferCode, infer) = await Terminal.EdgeMlAsync(here, "infer", "--url", api, "--model", "ocr-cls", "--input", Path.Combine(root, "examples", "request.json"));
        Assert.True(inferCode == 0, infer);
        Assert.Contains("\"softmax_0.tmp_0\"", infer, StringComparison.Ordinal);

        // The gRPC line run.sh printed, as printed: random inputs shaped from the model's metadata, over gRPC.
        Assert.Contains($"infer --grpc --url http://127.0.0.1:{grpcPort} --model ocr-cls --random", terminal.Output, StringComparison.Ordinal);
        var (grpcCode, grpc) = await Terminal.EdgeMlAsync(here, "infer", "--grpc", "--url", $"http://127.0.0.1:{grpcPort}", "--model", "ocr-cls", "--random");
        Assert.True(grpcCode == 0, grpc);
        Assert.Contains("\"softmax_0.tmp_0\"", grpc, StringComparison.Ordinal);

        var (bundleCode, bundle) = await Terminal.EdgeMlAsync(here, "support-bundle", "--url", api);
        Assert.True(bundleCode == 0, bundle);
        var saved = Assert.Single(Directory.GetFiles(here, "edgeml-support-*.json"));
        Assert.Contains($"to {saved}", bundle, StringComparison.Ordinal);
        using (var document = JsonDocument.Parse(await File.ReadAllBytesAsync(saved)))
        {
            // What its help promises: versions, settings, installed models and providers, recent events, health.
            foreach (var part in new[] { "versions", "configuration", "models", "events", "health" })
            {
                Assert.True(document.RootElement.TryGetProperty(part, out _), $"the support bundle has no {part}");
            }
        }

        await terminal.InterruptAsync();
        var code = await terminal.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(code == 0, $"run.sh ended with {code} after Ctrl+C:\n{terminal.Output}");
        Assert.Contains("Application is shutting down", terminal.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", terminal.Output, StringComparison.Ordinal);
    }

    /// <summary>Runs the printed curl line in a shell, as pasted, until the model answers (it is pulled and activated first).</summary>
    private static async Task<JsonDocument> UntilServedAsync(string curl, Terminal terminal)
    {
        var guard = Stopwatch.StartNew();
        var last = "";
        while (guard.Elapsed < Startup)
        {
            Assert.False(terminal.HasExited, $"run.sh ended before serving:\n{terminal.Output}");
            var info = new ProcessStartInfo("bash", ["-c", curl]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var shell = Process.Start(info)!;
            last = await shell.StandardOutput.ReadToEndAsync();
            await shell.WaitForExitAsync();
            if (shell.ExitCode == 0 && last.Contains("\"outputs\"", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(last);
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"{curl} never answered a prediction (last: {last}):\n{terminal.Output}");
    }

    [GeneratedRegex(@"prediction\s+(?<curl>curl [^\r\n]+)")]
    private static partial Regex PredictionLine();
}
