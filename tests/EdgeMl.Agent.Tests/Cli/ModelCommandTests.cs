using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>The operator's flow through the real <c>edgeml</c> executable: keys, pack, sign, verify, publish, pull.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class ModelCommandTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task OperatorFlow_PackSignPublishPull_ActivatesThenRefusesBrokenGoldenAndKeepsServingV1()
    {
        var keys = _temp.Sub("keys");
        var registry = _temp.Sub("registry");
        var data = _temp.Sub("data");
        await Ok(["keys", "create", "--name", "ops", "--out", keys]);
        var privateKey = Path.Combine(keys, "ops.key.pem");
        var publicKey = Path.Combine(keys, "ops.pub.pem");
        foreach (var v in new[] { "1", "2" })
        {
            var folder = _temp.Sub("p" + v);
            await Ok(["model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", v, "--out", folder, "--shape", "x=1,3,48,192"]);
            if (v == "2")
            {
                using var key = SigningKey.FromPem(await File.ReadAllTextAsync(privateKey));
                TestPackages.BreakGolden(folder, key);
            }

            await Ok(["model", "sign", folder, "--key", privateKey]);
            await Ok(["model", "verify", folder, "--trust", publicKey]);
            await Ok(["model", "publish", folder, "--registry", registry, "--key", privateKey]);
        }

        await Ok(["model", "pull", "cls", "--version", "1", "--registry", registry, "--trust", publicKey, "--data", data]);
        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pull", "cls", "--registry", registry, "--trust", publicKey, "--data", data], Guard);

        Assert.Equal(ExitCodes.CandidateRefused, code);
        Assert.Contains("cls v2 was refused at GoldenCheck", error, StringComparison.Ordinal);
        Assert.Contains("v1 stays active", error, StringComparison.Ordinal);
        var store = new ModelStore(new ModelStoreOptions { DataDirectory = data });
        Assert.Equal(1, store.GetActive("cls")!.Version);
        Assert.Equal(2, store.GetLastRejection("cls")!.Version);
        await AssertServesAsync(store.VersionFolder("cls", 1), expectedVersion: 1);
    }

    [Fact]
    public async Task Pull_UntrustedKey_ExitsThreeNamingTheKey()
    {
        var registry = _temp.Sub("registry");
        using var key = SigningKey.Create();
        using var stranger = SigningKey.Create();
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("p1"), "cls", 1, key, goldenSamples: 0), key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = _temp.Sub("stranger.pub.pem");
        await File.WriteAllTextAsync(trust, stranger.ExportPublicKeyPem());

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pull", "cls", "--registry", registry, "--trust", trust, "--data", _temp.Sub("data")], Guard);

        Assert.Equal(ExitCodes.Verification, code);
        Assert.Contains(key.KeyId, error, StringComparison.Ordinal);
        Assert.Null(new ModelStore(new ModelStoreOptions { DataDirectory = _temp.Sub("data") }).GetActive("cls"));
    }

    [Fact]
    public async Task Rollback_AfterTwoActivations_PreviousActiveAgain()
    {
        var registry = _temp.Sub("registry");
        using var key = SigningKey.Create();
        var trust = _temp.Sub("k.pub.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("p1"), "cls", 1, key), key, DateTimeOffset.UtcNow.AddDays(1));
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("p2"), "cls", 2, key), key, DateTimeOffset.UtcNow.AddDays(1));
        var data = _temp.Sub("data");
        await Ok(["model", "pull", "cls", "--version", "1", "--registry", registry, "--trust", trust, "--data", data]);
        await Ok(["model", "pull", "cls", "--registry", registry, "--trust", trust, "--data", data]);

        var (_, output, _) = await Ok(["model", "rollback", "cls", "--data", data]);

        Assert.Contains("rolled back from v2 to v1", output, StringComparison.Ordinal);
        Assert.Equal(1, new ModelStore(new ModelStoreOptions { DataDirectory = data }).GetActive("cls")!.Version);
    }

    [Fact]
    public async Task Rollback_NothingEarlierInstalledOrNothingAtAll_ExitsTenSayingWhich()
    {
        var registry = _temp.Sub("registry");
        using var key = SigningKey.Create();
        var trust = _temp.Sub("k.pub.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("p1"), "cls", 1, key), key, DateTimeOffset.UtcNow.AddDays(1));
        var data = _temp.Sub("data");
        await Ok(["model", "pull", "cls", "--registry", registry, "--trust", trust, "--data", data]);

        var (onlyOne, _, onlyOneError) = await EdgeMlProcess.RunAsync(["model", "rollback", "cls", "--data", data], Guard);
        var (none, _, noneError) = await EdgeMlProcess.RunAsync(["model", "rollback", "det", "--data", data], Guard);

        Assert.Equal(ExitCodes.NothingToRollBack, onlyOne);
        Assert.Contains("nothing to roll back to: cls v1 is active and no earlier good version is installed", onlyOneError, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.NothingToRollBack, none);
        Assert.Contains("nothing to roll back: det has no active version in", noneError, StringComparison.Ordinal);
        Assert.Equal(1, new ModelStore(new ModelStoreOptions { DataDirectory = data }).GetActive("cls")!.Version);
    }

    [Fact]
    public async Task Publish_OlderVersionIntoARegistryAtANewerOne_SaysWhichWasPublishedAndThatLatestStays()
    {
        var registry = _temp.Sub("registry");
        using var key = SigningKey.Create();
        var privateKey = _temp.Sub("ops.key.pem");
        await File.WriteAllTextAsync(privateKey, key.ExportPrivateKeyPem());
        TestPackages.PublishToFolder(registry, TestPackages.Classifier(_temp.Sub("p3"), "cls", 3, key, goldenSamples: 0), key, DateTimeOffset.UtcNow.AddDays(1));

        var (_, output, _) = await Ok(["model", "publish", TestPackages.Classifier(_temp.Sub("p2"), "cls", 2, key, goldenSamples: 0), "--registry", registry, "--key", privateKey]);

        Assert.StartsWith($"published cls v2 to ", output, StringComparison.Ordinal);
        Assert.Contains("versions.json lists 2, 3", output, StringComparison.Ordinal);
        Assert.Contains("devices asking for latest still get v3", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_DynamicInputWithoutShape_RefusesNamingTheShapeToGiveAndWritesNothing()
    {
        var folder = _temp.Sub("pkg");

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", "1", "--out", folder], Guard);
        var (wrong, _, wrongError) = await EdgeMlProcess.RunAsync(["model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", "1", "--out", folder, "--shape", "x=1,4,48,192"], Guard);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("input 'x' has dynamic dimensions: golden samples need its shape, --shape x=?,3,?,? with each ? the size it is served at, or a real request with --sample FILE (or --golden 0)", error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, wrong);
        Assert.Contains("--shape x=1,4,48,192 does not fit the model's ?,3,?,?", wrongError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task KeysCreate_Success_PrintedOnStandardOutput()
    {
        var (_, output, error) = await Ok(["keys", "create", "--name", "ops", "--out", _temp.Sub("keys")]);

        Assert.Matches(@"^key [0-9a-f]{16}: .*ops\.key\.pem \(keep secret\), .*ops\.pub\.pem \(give to devices\)", output);
        Assert.Empty(error);
    }

    private static async Task<(int Code, string Output, string Error)> Ok(string[] args)
    {
        var result = await EdgeMlProcess.RunAsync(args, Guard);
        Assert.True(result.Code == 0, $"edgeml {string.Join(' ', args)} exited {result.Code}: {result.Error}");
        return result;
    }

    private static async Task AssertServesAsync(string packageFolder, long expectedVersion)
    {
        using var meters = new TestMeterFactory();
        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(meters), TimeProvider.System);
        var activation = await engine.ActivateAsync(ModelPackage.Open(packageFolder).CreateDefinition());
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        var input = InferenceTensor.Create(ModelFixtures.ClassifierInput, ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 3));
        var result = await engine.InferAsync("cls", new InferenceRequest([input]));
        Assert.True(result.IsSuccess);
        Assert.Equal(expectedVersion, result.Version);
    }
}
