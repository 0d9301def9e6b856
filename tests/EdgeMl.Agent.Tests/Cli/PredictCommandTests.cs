using System.Text.Json;
using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Providers;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class PredictCommandTests
{
    [Fact]
    public async Task Run_ClassifierWithGeneratedSample_PrintsProbabilitiesAndLatency()
    {
        var (code, output, error) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), null, "1,3,48,192", 5, ProviderChainOptions.CpuOnly, 1));

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var data = json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(2, data.Length);
        Assert.Equal(1f, data.Sum(), 4);
        Assert.Matches(@"5 predictions: p50 [0-9.]+ ms, p99 [0-9.]+ ms", error);
    }

    [Fact]
    public async Task Run_InputFile_UsesItsTensors()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("edgeml-predict-").FullName, "request.json");
        var values = string.Join(",", ModelFixtures.SampleInput([1, 3, 48, 192], 9).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        await File.WriteAllTextAsync(file, $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3,48,192],"data":[{{values}}]}]}""");

        var (code, output, _) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), new FileInfo(file), null, 1, ProviderChainOptions.CpuOnly, 1));

        Assert.Equal(0, code);
        Assert.Contains("\"softmax_0.tmp_0\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_InputFileWithNestedData_AcceptedAsTheHttpApiAcceptsIt()
    {
        var values = ModelFixtures.SampleInput([1, 3, 48, 192], 9);
        var rows = Enumerable.Range(0, 3 * 48).Select(r => "[" + string.Join(",", values.Skip(r * 192).Take(192).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]");
        var nested = "[[" + string.Join("],[", rows.Chunk(48).Select(c => string.Join(",", c))) + "]]";
        var file = await RequestFile($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3,48,192],"data":{{nested}}}]}""");

        var (code, output, error) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), new FileInfo(file), null, 1, ProviderChainOptions.CpuOnly, 1));

        Assert.True(code == 0, error);
        Assert.Contains("\"softmax_0.tmp_0\"", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3,48,192]}]}""", "input 'x'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1]}]}""", "data has 1 elements; shape needs 2")]
    [InlineData("""{"input":[]}""", "inputs")]
    [InlineData("", "empty")]
    public async Task Run_BadRequestFile_ExitsTwoSayingWhatIsWrongWithTheRequest(string body, string expected)
    {
        var file = await RequestFile(body);

        var (code, _, error) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), new FileInfo(file), null, 1, ProviderChainOptions.CpuOnly, 1));

        Assert.Equal(2, code);
        Assert.Contains("edgeml predict: --input request.json is not an Open Inference Protocol request: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("manifest", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Run_RequiredProviderMissing_ExitsOneWithTheReason()
    {
        var (code, _, error) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), null, "1,3,48,192", 1, ProviderChainOptions.Of(ProviderPolicy.Require, "cuda", "cpu"), 1));

        Assert.Equal(1, code);
        Assert.Contains("Providers: provider 'cuda' is required but unavailable", error, StringComparison.Ordinal);
    }

    /// <summary>The real <c>edgeml predict --strict</c>: a GPU provider that cannot start here is refused with its exact reason.</summary>
    [Fact]
    public async Task Strict_FirstProviderCannotStart_ExitsOneWithItsExactReason()
    {
        var (code, _, error) = await EdgeMlProcess.RunAsync(["predict", "--model", ModelFixtures.Classifier, "--shape", "1,3,48,192", "--providers", "cuda,cpu", "--strict"], TimeSpan.FromMinutes(2));

        Assert.Equal(1, code);
        Assert.Contains("Providers: provider 'cuda' is required (policy strict) but unavailable: ", error, StringComparison.Ordinal);
        Assert.Contains(OnnxRuntimeBuild.Flavour == "gpu" ? "libcublasLt.so.13" : "CUDAExecutionProvider is not in this ONNX Runtime build", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NeitherInputNorShape_ExitsTwoWithUsage()
    {
        var (code, _, error) = await Run(new PredictOptions(new FileInfo(ModelFixtures.Classifier), null, null, 1, ProviderChainOptions.CpuOnly, 1));

        Assert.Equal(2, code);
        Assert.Contains("give --input FILE, or --shape for a generated sample input", error, StringComparison.Ordinal);
    }

    private static async Task<string> RequestFile(string body)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("edgeml-predict-").FullName, "request.json");
        await File.WriteAllTextAsync(file, body);
        return file;
    }

    private static async Task<(int Code, string Output, string Error)> Run(PredictOptions options)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await PredictCommand.RunAsync(options, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
