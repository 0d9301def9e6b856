using System.Collections.Concurrent;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>
/// A device: data folder, store and the real serving engine that activation goes through; a registry folder and
/// a publisher key. Packages of the real classifier are built once per process.
/// </summary>
internal sealed class DistributionHarness : IDisposable
{
    public static readonly SigningKey Key = SigningKey.Create();
    private static readonly ConcurrentDictionary<long, Lazy<string>> Templates = new();
    private static readonly string TemplateRoot = Path.Combine(Path.GetTempPath(), "edgeml-templates-" + Environment.ProcessId);

    private readonly TestPackages.TempFolder _temp = new();
    private readonly TestMeterFactory _meters = new();

    /// <param name="dataDirectory">The device's data folder; a fresh temp folder when null.</param>
    public DistributionHarness(long freeSpace = long.MaxValue, string? dataDirectory = null)
    {
        Trusted = TrustedKeys.FromPem([Key.ExportPublicKeyPem()]);
        Store = new ModelStore(new ModelStoreOptions { DataDirectory = dataDirectory ?? _temp.Sub("data"), FreeSpaceProbe = _ => FreeSpace });
        Engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(_meters), TimeProvider.System);
        FreeSpace = freeSpace;
        Directory.CreateDirectory(RegistryRoot);
    }

    public TrustedKeys Trusted { get; }

    public TrustPolicy Trust => new(Trusted);

    public ModelStore Store { get; }

    public InferenceEngine Engine { get; }

    public long FreeSpace { get; set; }

    public string RegistryRoot => _temp.Sub("registry");

    public DateTimeOffset Expires { get; set; } = DateTimeOffset.UtcNow.AddDays(30);

    public DownloadOptions Download { get; } = new() { RetryDelay = TimeSpan.Zero, MaxAttempts = 3, StallWindow = TimeSpan.FromSeconds(30) };

    public string Temp(string name) => _temp.Sub(name);

    /// <summary>A fresh copy of a signed classifier package of <paramref name="version"/>.</summary>
    public string Package(long version, string name = "cls")
    {
        // Lazy: test classes run in parallel, and two packs into one template folder would mix manifest and signature.
        var template = Templates.GetOrAdd(version, v => new Lazy<string>(() => TestPackages.Classifier(Path.Combine(TemplateRoot, $"{name}-{v}"), name, v, Key))).Value;
        var copy = _temp.Sub($"pkg-{version}-{Guid.NewGuid():N}");
        CopyTree(template, copy);
        return copy;
    }

    /// <summary>Publishes <paramref name="packageFolder"/> into the registry folder and lists it.</summary>
    public string Publish(string packageFolder) => TestPackages.PublishToFolder(RegistryRoot, packageFolder, Key, Expires);

    public ModelPuller Puller(IModelRegistry? registry = null, TrustPolicy? trust = null) =>
        new(registry ?? TestRegistries.Create(RegistryRoot), Store, trust ?? Trust, new FileDownloader(Download));

    public Task<PullResult> PullAsync(long? version = null, IModelRegistry? registry = null, bool pinned = false) =>
        Puller(registry).PullAsync(new PullRequest("cls", version) { Pinned = pinned }, new EngineValidator(Engine), null, CancellationToken.None);

    /// <summary>v1 published, pulled and active: the known good state every bad-input test starts from.</summary>
    public async Task StartWithActiveV1Async()
    {
        Publish(Package(1));
        var result = await PullAsync(1);
        Assert.True(result.Activation!.Activated);
    }

    /// <summary>Asserts v<paramref name="version"/> is active, every file of it matches the manifest, and the engine serves it.</summary>
    public void AssertActiveAndIntact(long version)
    {
        Assert.Equal(version, Store.GetActive("cls")?.Version);
        PackageVerifier.Verify(Store.VersionFolder("cls", version), Trust, new PackageExpectation("cls", version));
        var input = InferenceTensor.Create(ModelFixtures.ClassifierInput, ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 11));
        var served = Engine.InferAsync("cls", new InferenceRequest([input])).AsTask().GetAwaiter().GetResult();
        Assert.True(served.IsSuccess, served.Error?.ToString());
        Assert.Equal(version, served.Version);
    }

    public void Dispose()
    {
        Engine.Dispose();
        _meters.Dispose();
        Trusted.Dispose();
        _temp.Dispose();
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
