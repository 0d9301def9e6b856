using EdgeMl.Runtime.Packages;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Runtime.Tests.Packages;

public sealed class ModelStoreTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();
    private readonly SigningKey _key = SigningKey.Create();
    private readonly TrustedKeys _trusted;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 5, 0, 0, TimeSpan.Zero));

    public ModelStoreTests() => _trusted = TrustedKeys.FromPem([_key.ExportPublicKeyPem()]);

    public void Dispose()
    {
        _trusted.Dispose();
        _key.Dispose();
        _temp.Dispose();
    }

    private ModelStore NewStore(int keepExtra = 1, long free = long.MaxValue) =>
        new(new ModelStoreOptions { DataDirectory = _temp.Sub("data"), KeepExtraVersions = keepExtra, FreeSpaceProbe = _ => free }, _time, NullLogger<ModelStore>.Instance);

    private ModelPackage Verified(long version)
    {
        var folder = TestPackages.Classifier(_temp.Sub($"pkg{version}"), "cls", version, _key, goldenSamples: 0);
        return PackageVerifier.Verify(folder, new TrustPolicy(_trusted), new PackageExpectation("cls", version));
    }

    [Fact]
    public async Task ActivateAsync_AcceptedCandidate_BecomesActiveWithPreviousKept()
    {
        var store = NewStore();
        store.Install(Verified(1), move: false);
        store.Install(Verified(2), move: true);

        await store.ActivateAsync("cls", 1, new AcceptingValidator());
        var outcome = await store.ActivateAsync("cls", 2, new AcceptingValidator());

        Assert.True(outcome.Activated);
        Assert.Equal(2, store.GetActive("cls")!.Version);
        Assert.Equal(1, store.GetActive("cls")!.Previous);
    }

    [Fact]
    public async Task ActivateAsync_RefusedCandidate_StaysInactiveAndReasonKept()
    {
        var store = NewStore();
        store.Install(Verified(1), move: false);
        store.Install(Verified(2), move: false);
        await store.ActivateAsync("cls", 1, new AcceptingValidator());

        var outcome = await store.ActivateAsync("cls", 2, new RefusingValidator("golden", "output 0 differs"));

        Assert.False(outcome.Activated);
        Assert.Equal(1, outcome.ActiveVersion);
        Assert.Equal(1, store.GetActive("cls")!.Version);
        var rejection = store.GetLastRejection("cls")!;
        Assert.Equal((2L, "golden", "output 0 differs"), (rejection.Version, rejection.Stage, rejection.Reason));
    }

    [Fact]
    public async Task Rollback_AfterActivation_PreviousGoodVersionActiveAgain()
    {
        var store = NewStore();
        store.Install(Verified(1), move: false);
        store.Install(Verified(2), move: false);
        await store.ActivateAsync("cls", 1, new AcceptingValidator());
        await store.ActivateAsync("cls", 2, new AcceptingValidator());

        var record = store.Rollback("cls");

        Assert.Equal(1, record!.Version);
        Assert.Equal(1, store.GetActive("cls")!.Version);
        Assert.Null(store.Rollback("cls"));
    }

    [Fact]
    public async Task ApplyRetention_ManyVersions_KeepsActivePreviousAndExtra()
    {
        var store = NewStore(keepExtra: 1);
        store.Install(Verified(1), move: true);
        await store.ActivateAsync("cls", 1, new AcceptingValidator());
        for (var v = 2; v <= 4; v++)
        {
            store.Install(Verified(v), move: true);
        }

        await store.ActivateAsync("cls", 4, new AcceptingValidator());

        // Active 4, previous good 1, one extra: the newest other (3).
        Assert.Equal([1L, 3L, 4L], store.GetInstalledVersions("cls"));
    }

    [Fact]
    public void CheckNotDowngrade_BelowHighestAccepted_RefusedUnlessPinned()
    {
        var store = NewStore();
        store.RecordAccepted("cls", 3);
        store.RecordAccepted("cls", 2);

        var e = Assert.Throws<PackageVerificationException>(() => store.CheckNotDowngrade("cls", 2, pinned: false));

        Assert.Equal(VerificationFailure.Downgrade, e.Failure);
        Assert.Equal(3, NewStore().GetHighestAccepted("cls"));
        store.CheckNotDowngrade("cls", 2, pinned: true);
        store.CheckNotDowngrade("cls", 3, pinned: false);
    }

    [Fact]
    public void EnsureFreeSpace_DiskTooFull_ThrowsNamingTheNumbers()
    {
        var store = NewStore(free: 1000);

        var e = Assert.Throws<InsufficientSpaceException>(() => store.EnsureFreeSpace(600_000));

        Assert.Contains("1000 bytes free", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recover_DebrisFromKilledRun_RemovedAndVersionsKept()
    {
        var store = NewStore();
        store.Install(Verified(1), move: false);
        var model = store.ModelFolder("cls");
        Directory.CreateDirectory(Path.Combine(model, ".staging-abc", "golden"));
        Directory.CreateDirectory(Path.Combine(model, ".trash-3-abc"));
        File.WriteAllText(Path.Combine(model, ".active.json.123.tmp"), "{");
        Directory.CreateDirectory(store.DownloadFolder("cls", 1));

        store.Recover();

        Assert.Equal(["1"], Directory.EnumerateFileSystemEntries(model).Select(Path.GetFileName));
        Assert.False(Directory.Exists(store.DownloadFolder("cls", 1)));
    }

    [Fact]
    public void Install_ExistingVersion_LeftAsIs()
    {
        var store = NewStore();
        var first = store.Install(Verified(1), move: false);
        var again = store.Install(Verified(1), move: false);

        Assert.Equal(first, again);
        Assert.Single(Directory.EnumerateDirectories(store.ModelFolder("cls")));
    }

    private sealed class RefusingValidator(string stage, string reason) : IPackageValidator
    {
        public Task<PackageValidation> ValidateAsync(ModelPackage candidate, CancellationToken cancellationToken) =>
            Task.FromResult(PackageValidation.Reject(stage, reason));
    }
}
