using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using EdgeMl.Agent.Cli;
using EdgeMl.Agent.Tests.Diagnostics;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>The verbs that talk to a running agent, through the real command line, against the real API host and engine.</summary>
public sealed class LocalApiCommandsTests : IAsyncLifetime
{
    private const string Token = "field-token";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edgeml-cli-");
    private FieldAgent _agent = null!;

    public async Task InitializeAsync() => _agent = await FieldAgent.StartAsync(Token);

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Status_RunningAgent_SummarisesModelsSyncLinksAndDisk()
    {
        var (code, output, _) = await Run("status");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("press-line-7: degraded (agent 1.4.0", output, StringComparison.Ordinal);
        Assert.Contains("Ready for traffic: yes; desired state from twin", output, StringComparison.Ordinal);
        Assert.Contains("ocr-cls: ready v1 on cpu (asked cuda,cpu), p50 1.25 ms, p99 3.50 ms, 1234 requests, 2 errors", output, StringComparison.Ordinal);
        Assert.Contains(EdgeMl.Runtime.Providers.OnnxRuntimeBuild.Flavour == "gpu"
            ? "    cuda: librariesMissing: in this ONNX Runtime build, but its libraries do not load: libcublasLt.so.13"
            : "    cuda: notInBuild: CUDAExecutionProvider is not in this ONNX Runtime build", output, StringComparison.Ordinal);
        Assert.DoesNotContain("    cpu: ", output, StringComparison.Ordinal);
        Assert.Contains("    degraded: cuda unavailable", output, StringComparison.Ordinal);
        Assert.Contains("ocr-cls: downloading 40%, desired latest, active v1, target v2: fetching v2 (40 %)", output, StringComparison.Ordinal);
        Assert.Contains("Hub: connected", output, StringComparison.Ordinal);
        Assert.Contains("Broker: disconnected mqtts://broker.local:8883: connection refused, 17 dropped", output, StringComparison.Ordinal);
        Assert.Contains("Disk: /var/lib/edgeml, 12.5 GB free of 32.0 GB", output, StringComparison.Ordinal);
        Assert.Contains("Capture: enabled true, rows 5120", output, StringComparison.Ordinal);
        Assert.Contains("Accelerators: ONNX Runtime 1.32.0 (gpu flavour), providers tensorrt, cuda, cpu", output, StringComparison.Ordinal);
        Assert.Contains("  CUDA driver 13.0: 0 NVIDIA A2 (15.7 GB, compute 8.6)", output, StringComparison.Ordinal);
        Assert.Contains("  libraries found: libcuda.so.1; not found: libcudnn.so.9", output, StringComparison.Ordinal);
        Assert.Contains("  TensorRT: not found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NotReady_SaysWhy()
    {
        _agent.SetHealth(phase: "downloading", progress: 0.1, message: null, notReady: "'ocr-cls' does not serve yet (downloading)");

        var (code, output, _) = await Run("status");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("Ready for traffic: no, 'ocr-cls' does not serve yet (downloading); desired state from twin", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_Json_PrintsTheDocumentAsSent()
    {
        var (code, output, _) = await Run("status", "--json");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(_agent.HealthJson, output.Trim());
    }

    [Fact]
    public async Task Status_SparseDocument_ShowsDashesInsteadOfFailing()
    {
        _agent.SetHealth(new System.Text.Json.Nodes.JsonObject { ["status"] = "unhealthy", ["models"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["name"] = "det" }) });

        var (code, output, _) = await Run("status");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("-: unhealthy (agent -", output, StringComparison.Ordinal);
        Assert.Contains("det: - - on -, p50 -, p99 -", output, StringComparison.Ordinal);
        Assert.Contains("Hub: not configured", output, StringComparison.Ordinal);
        Assert.Contains("Capture: off", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NoAgentListening_SaysWhereItLookedAndHowToStartIt()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var (code, _, error) = await Run(["status", "--url", url], token: null);

        Assert.Equal(ExitCodes.AgentUnreachable, code);
        Assert.Contains($"edgeml status: no EdgeMl agent answered at {url}/ (connection refused)", error, StringComparison.Ordinal);
        Assert.Contains("Start it with 'edgeml run'", error, StringComparison.Ordinal);
        Assert.Contains("pass --url", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NoToken_ExitsUnauthorizedAndSaysToPassIt()
    {
        var (code, _, error) = await Run(["status"], token: null);

        Assert.Equal(ExitCodes.Unauthorized, code);
        Assert.Contains("needs its token: pass --token TOKEN or set EDGEML_TOKEN", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_WrongToken_SaysTheTokenWasRefused()
    {
        var (code, _, error) = await Run(["status"], token: "guess");

        Assert.Equal(ExitCodes.Unauthorized, code);
        Assert.Contains("refused the token given", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_NoTokenOption_TakesTheEnvironmentVariable()
    {
        var fromEnvironment = AgentConnection.Resolve(AgentConnection.DefaultUrl, null, name => name == "EDGEML_TOKEN" ? "from-env" : null);
        var fromOption = AgentConnection.Resolve(AgentConnection.DefaultUrl, "from-option", _ => "from-env");

        Assert.Equal("from-env", fromEnvironment.Token);
        Assert.Equal("from-option", fromOption.Token);
        Assert.Equal(new Uri("http://127.0.0.1:8000"), fromEnvironment.Url);
        Assert.Throws<ArgumentException>(() => AgentConnection.Resolve("127.0.0.1:8000", null, _ => null));
    }

    [Fact]
    public void Resolve_InsideTheModuleContainer_TakesTheAgentsOwnTokenVariableLast()
    {
        var module = AgentConnection.Resolve(AgentConnection.DefaultUrl, null, name => name == "EdgeMl__Http__Token" ? "module-token" : null);
        var both = AgentConnection.Resolve(AgentConnection.DefaultUrl, null, name => name == "EDGEML_TOKEN" ? "cli-token" : "module-token");

        Assert.Equal("module-token", module.Token);
        Assert.Equal("cli-token", both.Token);
    }

    [Fact]
    public async Task Models_RunningAgent_TablesEachModelWithVersionAndSync()
    {
        var (code, output, _) = await Run("models");

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Matches(@"^MODEL\s+STATE\s+VERSION\s+PROVIDER\s+DESIRED\s+SYNC$", lines[0]);
        Assert.Matches(@"^ocr-cls\s+ready\s+v1\s+cpu \(degraded\)\s+latest\s+downloading 40% → v2$", lines[1]);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task Infer_JsonRequestFile_PrintsTheClassifierOutput()
    {
        var file = await JsonRequest(seed: 3);

        var (code, output, error) = await Run("infer", "--model", FieldAgent.Model, "--input", file);

        Assert.True(code == ExitCodes.Ok, error);
        var probabilities = Probabilities(output);
        Assert.Equal(2, probabilities.Length);
        Assert.Equal(1f, probabilities.Sum(), 4);
    }

    [Fact]
    public async Task Infer_RawTensorFile_SentBinaryGivesTheSameOutputAsJson()
    {
        var values = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 3);
        var raw = Path.Combine(_folder.FullName, "x.bin");
        await File.WriteAllBytesAsync(raw, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

        var (code, output, error) = await Run("infer", "--model", FieldAgent.Model, "--version", "1", "--input", raw, "--name", "x", "--datatype", "FP32", "--shape", "1,3,48,192");
        var (_, jsonOutput, _) = await Run("infer", "--model", FieldAgent.Model, "--input", await JsonRequest(seed: 3));

        Assert.True(code == ExitCodes.Ok, error);
        Assert.Equal(Probabilities(jsonOutput), Probabilities(output));
        Assert.Contains("\"model_version\": \"1\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_UnknownModel_ExitsNotFoundWithTheAgentsMessage()
    {
        var (code, _, error) = await Run("infer", "--model", "nope", "--input", await JsonRequest(seed: 1));

        Assert.Equal(ExitCodes.NotFound, code);
        Assert.Contains("edgeml infer: /v2/models/nope/infer: model 'nope' is not served", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_WrongShape_PrintsTheProtocolError()
    {
        var file = Path.Combine(_folder.FullName, "bad.json");
        await File.WriteAllTextAsync(file, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2]}]}""");

        var (code, _, error) = await Run("infer", "--model", FieldAgent.Model, "--input", file);

        Assert.Equal(ExitCodes.AgentError, code);
        Assert.StartsWith("edgeml infer: the agent answered 400: ", error, StringComparison.Ordinal);
        Assert.Contains("data has 2 elements; shape needs 3", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_RawFileOfWrongSize_ExitsUsageWithoutCallingTheAgent()
    {
        var raw = Path.Combine(_folder.FullName, "short.bin");
        await File.WriteAllBytesAsync(raw, new byte[100]);

        var (code, _, error) = await Run("infer", "--model", FieldAgent.Model, "--input", raw, "--name", "x", "--datatype", "FP32", "--shape", "1,3,48,192");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("short.bin has 100 bytes; FP32 [1,3,48,192] needs 110592", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SupportBundle_Out_SavesTheAgentsBytes()
    {
        var target = Path.Combine(_folder.FullName, "bundle.json");

        var (code, output, _) = await Run("support-bundle", "--out", target);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(_agent.SupportBundle, await File.ReadAllBytesAsync(target));
        Assert.Contains($"saved the support bundle (22 B) to {target}", output, StringComparison.Ordinal);
        Assert.False(File.Exists(target + ".partial"));
    }

    [Fact]
    public void SupportBundle_NoOut_NamedAsTheJsonItIs()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 14, 5, 9, TimeSpan.Zero));

        Assert.Equal("edgeml-support-20260301T140509Z.json", SupportBundleCommand.DefaultFileName(time));
    }

    private Task<(int Code, string Output, string Error)> Run(params string[] args) => Run(args, Token);

    private async Task<(int Code, string Output, string Error)> Run(string[] args, string? token)
    {
        var all = new List<string>(args);
        if (!all.Contains("--url"))
        {
            all.AddRange(["--url", _agent.Address.ToString()]);
        }

        if (token is not null)
        {
            all.AddRange(["--token", token]);
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await EdgeMlCommandLine.Create().Parse(all).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private async Task<string> JsonRequest(int seed)
    {
        var file = Path.Combine(_folder.FullName, $"request-{seed}.json");
        var values = string.Join(",", ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        await File.WriteAllTextAsync(file, $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3,48,192],"data":[{{values}}]}]}""");
        return file;
    }

    private static float[] Probabilities(string output)
    {
        using var json = JsonDocument.Parse(output);
        var softmax = json.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == ModelFixtures.ClassifierOutput);
        return softmax.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
