using System.Runtime.InteropServices;
using System.Text;
using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// <c>edgeml model pack --sample</c> with a model whose inputs are INT64 token ids, a BOOL mask and an INT64 scalar
/// that zeros do not satisfy: packed with the default warm-up and golden settings, activated as the agent activates
/// a package.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class PackSampleTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private const string JsonSample = """{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,3],"data":[5,6,7]},{"name":"mask","datatype":"BOOL","shape":[1,3],"data":[true,false,true]},{"name":"n","datatype":"INT64","shape":[],"data":[3]}]}""";
    private readonly TestPackages.TempFolder _temp = new();
    private readonly string _model;

    public PackSampleTests()
    {
        _model = _temp.Sub("masked.onnx");
        File.WriteAllBytes(_model, OnnxGraphs.MaskedIds());
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task JsonSample_Int64BoolAndScalarInputs_PackWithDefaultsAndActivate()
    {
        var sample = _temp.Sub("sample.json");
        await File.WriteAllTextAsync(sample, JsonSample);
        var folder = _temp.Sub("pkg");

        var (code, output, error) = await EdgeMlProcess.RunAsync(["model", "pack", _model, "--name", "masked", "--version", "1", "--out", folder, "--sample", sample], Guard);

        Assert.True(code == 0, error);
        Assert.Contains("1 golden samples", output, StringComparison.Ordinal);
        var manifest = ModelPackage.Open(folder).Manifest;
        Assert.Equal(["ids", "mask", "n"], manifest.WarmUp!.Inputs.Select(t => t.Name));
        Assert.Equal([1L, 3], manifest.WarmUp.Shapes["ids"]);
        Assert.Equal([5L, 0, 7], Assert.Single(Assert.Single(manifest.Golden).Outputs).Data!.Value.EnumerateArray().Select(v => v.GetInt64()));
        await AssertActivatesAndAnswersAsync(folder);
    }

    [Fact]
    public async Task BinaryExtensionSample_PacksTheSameAsJson()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,3],"parameters":{"binary_data_size":24}},{"name":"mask","datatype":"BOOL","shape":[1,3],"parameters":{"binary_data_size":3}},{"name":"n","datatype":"INT64","shape":[],"data":[3]}]}""");
        var sample = _temp.Sub("sample.bin");
        await File.WriteAllBytesAsync(sample, [.. header, .. MemoryMarshal.AsBytes<long>([5, 6, 7]), 1, 0, 1]);
        var folder = _temp.Sub("pkg");

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", _model, "--name", "masked", "--version", "1", "--out", folder, "--sample", sample], Guard);

        Assert.True(code == 0, error);
        Assert.Equal([5L, 0, 7], Assert.Single(Assert.Single(ModelPackage.Open(folder).Manifest.Golden).Outputs).Data!.Value.EnumerateArray().Select(v => v.GetInt64()));
        await AssertActivatesAndAnswersAsync(folder);
    }

    [Fact]
    public async Task NoSample_GoldenForNonFp32Inputs_RefusedSuggestingSample()
    {
        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", _model, "--name", "masked", "--version", "1", "--out", _temp.Sub("pkg"), "--shape", "ids=1,3", "--shape", "mask=1,3"], Guard);

        Assert.NotEqual(0, code);
        Assert.Contains("'ids' is INT64: give a real request with --sample FILE", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SampleThatDoesNotFit_IsUsageErrorNamingTheInput()
    {
        var sample = _temp.Sub("bad.json");
        await File.WriteAllTextAsync(sample, """{"inputs":[{"name":"ids","datatype":"INT32","shape":[1,1],"data":[1]},{"name":"mask","datatype":"BOOL","shape":[1,1],"data":[true]}]}""");

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", _model, "--name", "masked", "--version", "1", "--out", _temp.Sub("pkg"), "--sample", sample], Guard);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--sample 1: input 'ids' is INT32; the model takes INT64", error, StringComparison.Ordinal);
        Assert.Contains("--sample 1 has no input 'n'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoSample_WarmUpOnZerosFails_SaysZerosAndSuggestsSample()
    {
        var folder = _temp.Sub("pkg");
        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", _model, "--name", "masked", "--version", "1", "--out", folder, "--golden", "0"], Guard);
        Assert.True(code == 0, error);

        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        var activation = await engine.ActivateAsync(ModelPackage.Open(folder).CreateDefinition());

        Assert.False(activation.Succeeded);
        Assert.Contains("warm-up run 1 on zero tensors failed", activation.Failure!.Reason, StringComparison.Ordinal);
        Assert.Contains("edgeml model pack --sample FILE", activation.Failure.Reason, StringComparison.Ordinal);
    }

    private static async Task AssertActivatesAndAnswersAsync(string folder)
    {
        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        var activation = await engine.ActivateAsync(ModelPackage.Open(folder).CreateDefinition());
        Assert.True(activation.Succeeded, activation.Failure?.Reason);

        var result = await engine.InferAsync("masked", new InferenceRequest(
        [
            InferenceTensor.Create("ids", [1, 2], new long[] { 9, 4 }),
            InferenceTensor.Create("mask", [1, 2], new[] { false, true }),
            InferenceTensor.Create("n", [], new long[] { 2 }),
        ]));
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([0L, 4], result.Output("y").Span<long>().ToArray());
    }
}
