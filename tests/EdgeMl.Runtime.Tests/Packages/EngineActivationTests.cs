using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Runtime.Tests.Packages;

/// <summary>Store activation through the real serving engine on the real classifier.</summary>
public sealed class EngineActivationTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();
    private readonly SigningKey _key = SigningKey.Create();
    private readonly TrustedKeys _trusted;
    private readonly TestMeterFactory _meters = new();
    private readonly InferenceEngine _engine;
    private readonly ModelStore _store;

    public EngineActivationTests()
    {
        _trusted = TrustedKeys.FromPem([_key.ExportPublicKeyPem()]);
        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(_meters), TimeProvider.System);
        _store = new ModelStore(new ModelStoreOptions { DataDirectory = _temp.Sub("data") });
    }

    public void Dispose()
    {
        _engine.Dispose();
        _meters.Dispose();
        _trusted.Dispose();
        _key.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task ActivateAsync_GoldenCheckFails_CandidateRefusedAndV1KeepsServing()
    {
        var validator = new EngineValidator(_engine);
        Install(TestPackages.Classifier(_temp.Sub("v1"), "cls", 1, _key));
        Assert.True((await _store.ActivateAsync("cls", 1, validator)).Activated);
        var v2 = TestPackages.Classifier(_temp.Sub("v2"), "cls", 2, _key);
        TestPackages.BreakGolden(v2, _key);
        Install(v2);

        var outcome = await _store.ActivateAsync("cls", 2, validator);

        Assert.False(outcome.Activated);
        Assert.Equal(nameof(ModelLoadStage.GoldenCheck), outcome.Validation.Stage);
        Assert.Equal(1, _store.GetActive("cls")!.Version);
        Assert.Equal((2L, "GoldenCheck"), (_store.GetLastRejection("cls")!.Version, _store.GetLastRejection("cls")!.Stage));
        var input = InferenceTensor.Create(ModelFixtures.ClassifierInput, ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 5));
        var served = await _engine.InferAsync("cls", new InferenceRequest([input]));
        Assert.True(served.IsSuccess, served.Error?.ToString());
        Assert.Equal(1, served.Version);
    }

    [Fact]
    public async Task ActivateAsync_GoodCandidate_EngineServesItAndStoreRecordsIt()
    {
        var validator = new EngineValidator(_engine);
        Install(TestPackages.Classifier(_temp.Sub("v1"), "cls", 1, _key));
        Install(TestPackages.Classifier(_temp.Sub("v2"), "cls", 2, _key));
        await _store.ActivateAsync("cls", 1, validator);

        var outcome = await _store.ActivateAsync("cls", 2, validator);

        Assert.True(outcome.Activated);
        Assert.Equal(2, _engine.GetStatus("cls")!.Version);
        Assert.Equal(2, _store.GetActive("cls")!.Version);
    }

    [Fact]
    public async Task LoaderValidator_GoldenCheckFails_RejectsWithStageAndReason()
    {
        var v1 = TestPackages.Classifier(_temp.Sub("v1"), "cls", 1, _key);
        TestPackages.BreakGolden(v1, _key);

        var verdict = await new LoaderValidator(new ModelLoader()).ValidateAsync(ModelPackage.Open(v1), CancellationToken.None);

        Assert.False(verdict.Accepted);
        Assert.Equal(nameof(ModelLoadStage.GoldenCheck), verdict.Stage);
        Assert.False(string.IsNullOrEmpty(verdict.Reason));
    }

    private void Install(string folder)
    {
        var m = ModelPackage.Open(folder).Manifest;
        _store.Install(PackageVerifier.Verify(folder, new TrustPolicy(_trusted), new PackageExpectation(m.Name, m.Version)), move: false);
    }
}
