using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Runtime.Tests.Sessions;

public sealed class ModelLoaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("edgeml-loader-").FullName;
    private readonly ModelLoader _loader = new();

    [Fact]
    public async Task Load_GoldenSampleMatches_IsReady()
    {
        using var model = await _loader.LoadAsync(Classifier.Definition(golden: [Classifier.Golden(3), Classifier.Golden(4)]));

        Assert.Equal(1, model.Version);
        Assert.Equal("cpu", model.Providers.Effective);
    }

    /// <summary>Node placement is read from a profile of the warm-up, written under the temporary folder: none lands where the agent runs.</summary>
    [Fact]
    public async Task Load_WarmUpProfiledForNodePlacement_NoProfileLeftInTheWorkingDirectory()
    {
        var before = DateTime.UtcNow.AddSeconds(-1);

        using var model = await _loader.LoadAsync(Classifier.Definition());

        Assert.NotEmpty(model.Providers.NodesByProvider);
        Assert.DoesNotContain(Directory.EnumerateFiles(Directory.GetCurrentDirectory(), "onnxruntime_profile_*"), f => File.GetLastWriteTimeUtc(f) >= before);
    }

    /// <summary>
    /// A load refused after its session was made and before the profiled warm-up was read (here at the signature check)
    /// deletes the profile ONNX Runtime writes when the session goes.
    /// </summary>
    [Fact]
    public async Task Load_RefusedBeforeTheProfileWasRead_NoProfileLeft()
    {
        var profiles = Directory.CreateTempSubdirectory("edgeml-profiles-");
        var loader = new ModelLoader { ProfileFolder = profiles.FullName };
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            DeclaredSignature = new ModelSignature([new TensorSpec("x", TensorDataType.Fp32, [-1, 3, 48, 192])], []),
        };

        await Assert.ThrowsAsync<ModelLoadException>(() => loader.LoadAsync(definition));

        Assert.Empty(profiles.EnumerateFiles());
    }

    [Fact]
    public async Task Load_GoldenSampleDiffers_FailsAtGoldenCheckNamingTheElement()
    {
        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(Classifier.Definition(golden: [Classifier.Golden(3, perturb: 0.05f)])));

        Assert.Equal(ModelLoadStage.GoldenCheck, e.Stage);
        Assert.Matches(@"^golden sample 0: output 'softmax_0\.tmp_0' element 0 is [-0-9.e]+; expected [-0-9.e]+ within [0-9.e-]+$", e.Reason);
    }

    [Fact]
    public async Task Load_GoldenSampleWithinTolerance_IsReady()
    {
        using var model = await _loader.LoadAsync(Classifier.Definition(golden: [Classifier.Golden(3, perturb: 0.00005f)]));

        Assert.NotNull(model);
    }

    [Fact]
    public async Task Load_GoldenSampleNamesUnknownOutput_FailsAtGoldenCheck()
    {
        var input = Classifier.Input(1);
        var sample = new GoldenSample([input], [InferenceTensor.Create("logits", [1, 2], new float[2])]);

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(Classifier.Definition(golden: [sample])));

        Assert.Equal(ModelLoadStage.GoldenCheck, e.Stage);
        Assert.Contains("unknown output 'logits'", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WarmUpOnZerosShapedFromConfiguration_RunsTheConfiguredShape()
    {
        var definition = Classifier.Definition();

        using var model = await _loader.LoadAsync(definition);

        Assert.True(model.WarmUpTime > TimeSpan.Zero);
    }

    [Theory]
    [InlineData("x")]
    [InlineData(WarmUpOptions.AnyInput)]
    public async Task Load_WarmUpShapeFromConfiguration_IsTheShapeTheZerosTake(string key)
    {
        // A configured shape that breaks a fixed dimension shows that the zeros are shaped by it, by input name or for any input.
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Runs = 1, Shapes = { [key] = [1, 4, 48, 192] } },
        };

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(definition));

        Assert.Equal(ModelLoadStage.WarmUp, e.Stage);
        Assert.Equal("warm-up inputs do not fit the model: input 'x' dimension 1 is 4; the model expects 3 (shape [-1,3,-1,-1])", e.Reason);
    }

    [Fact]
    public async Task Load_WarmUpRunsZero_SkipsWarmUpEvenWithAShapeThatWouldFail()
    {
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Runs = 0, Shapes = { ["x"] = [1, 4, 48, 192] } },
        };

        using var model = await _loader.LoadAsync(definition);

        Assert.Equal(1, model.Version);
    }

    [Fact]
    public async Task Load_WarmUpInputsOfWrongType_FailsAtWarmUp()
    {
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Inputs = [InferenceTensor.Create("x", [1, 3, 48, 192], new int[3 * 48 * 192])] },
        };

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(definition));

        Assert.Equal(ModelLoadStage.WarmUp, e.Stage);
        Assert.Equal("warm-up inputs do not fit the model: input 'x' has datatype INT32; the model expects FP32", e.Reason);
    }

    [Fact]
    public async Task Load_DeclaredSignatureDiffers_FailsAtSignature()
    {
        var definition = new ModelDefinition
        {
            Name = Classifier.Name,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            DeclaredSignature = new ModelSignature([new TensorSpec("x", TensorDataType.Fp32, [-1, 3, 48, 192])], []),
        };

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(definition));

        Assert.Equal(ModelLoadStage.Signature, e.Stage);
        Assert.Equal("the package declares input x FP32 [-1,3,48,192]; the model has x FP32 [-1,3,-1,-1]", e.Reason);
    }

    [Fact]
    public async Task Load_FileIsNotAModel_FailsAtSession()
    {
        var path = Path.Combine(_folder, "broken.onnx");
        await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(ModelFixtures.Classifier))[..1000]);

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(new ModelDefinition { Name = "broken", Version = 1, ModelPath = path }));

        Assert.Equal(ModelLoadStage.Session, e.Stage);
    }

    [Fact]
    public async Task Load_MissingFile_FailsAtSessionNamingThePath()
    {
        var path = Path.Combine(_folder, "absent.onnx");

        var e = await Assert.ThrowsAsync<ModelLoadException>(() => _loader.LoadAsync(new ModelDefinition { Name = "absent", Version = 1, ModelPath = path }));

        Assert.Equal($"model file {path} does not exist", e.Reason);
    }

    [Fact]
    public async Task Load_OptimizedModelCache_IsWrittenOnceAndReusedWithSameOutputs()
    {
        var cache = Path.Combine(_folder, "optimized");
        var session = new ModelSessionOptions { IntraOpThreads = 1, OptimizedModelCache = cache };
        var input = Classifier.Input(5);

        using (await _loader.LoadAsync(Classifier.Definition(session: session)))
        {
        }

        var cached = Assert.Single(Directory.GetFiles(cache));
        var written = File.GetLastWriteTimeUtc(cached);
        using var second = await _loader.LoadAsync(Classifier.Definition(session: session, golden: [new GoldenSample([input], [InferenceTensor.Create(ModelFixtures.ClassifierOutput, [1, 2], Classifier.BareRun(input))])]));

        Assert.Equal(cached, Assert.Single(Directory.GetFiles(cache)));
        Assert.Equal(written, File.GetLastWriteTimeUtc(cached));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
