using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>Every bad input of the issue: the specific error, and the previously active version still active and intact.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class PullBadInputTests : IDisposable
{
    private readonly DistributionHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task PullAsync_FlippedBitInModel_RefusedAsHashMismatchAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        TestPackages.FlipBit(Path.Combine(published, PackageBuilder.ModelFileName), 4242);

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync());

        Assert.Equal(DownloadFailure.HashMismatch, e.Failure);
        Assert.Contains("model.onnx", e.Message, StringComparison.Ordinal);
        _h.AssertActiveAndIntact(1);
        Assert.DoesNotContain(2L, _h.Store.GetInstalledVersions("cls"));
    }

    [Fact]
    public async Task PullAsync_FlippedBitInManifest_RefusedAsBadSignatureAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        TestPackages.FlipBit(Path.Combine(published, ModelManifest.FileName), 40, 1);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.BadSignature, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_FlippedBitInSignature_RefusedAsBadSignatureAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        var sigPath = Path.Combine(published, DetachedSignature.ManifestFileName);
        var sig = DetachedSignature.Parse(File.ReadAllBytes(sigPath), "test");
        var raw = Convert.FromBase64String(sig.Signature);
        raw[20] ^= 0x04;
        File.WriteAllBytes(sigPath, (sig with { Signature = Convert.ToBase64String(raw) }).ToJson());

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.BadSignature, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_SignedByUnknownKey_RefusedAsUnknownKeyAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var package = _h.Package(2);
        using var stranger = SigningKey.Create();
        PackageBuilder.Sign(package, stranger);
        _h.Publish(package);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.UnknownKey, e.Failure);
        Assert.Contains(stranger.KeyId, e.Message, StringComparison.Ordinal);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_NoSignature_RefusedAsUnsignedAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        File.Delete(Path.Combine(published, DetachedSignature.ManifestFileName));

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.Unsigned, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_ExpiredVersionList_RefusedAsExpiredAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        _h.Expires = DateTimeOffset.UtcNow.AddMinutes(-1);
        _h.Publish(_h.Package(2));

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.Expired, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_OlderSignedListReplayedAfterANewerOne_RefusedAsOlderListAndV1StaysActive()
    {
        // The device has seen the list with v2 but could not install v2 yet; a registry that now serves the old,
        // still valid list must not make it believe v1 is the latest.
        await _h.StartWithActiveV1Async();
        var listing = Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName);
        var signature = Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.SignatureFileName);
        var (oldList, oldSignature) = (File.ReadAllBytes(listing), File.ReadAllBytes(signature));
        var published = _h.Publish(_h.Package(2));
        TestPackages.FlipBit(Path.Combine(published, PackageBuilder.ModelFileName), 4242);
        await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync());
        File.WriteAllBytes(listing, oldList);
        File.WriteAllBytes(signature, oldSignature);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.OlderList, e.Failure);
        Assert.Contains("older than the list already seen", e.Message, StringComparison.Ordinal);
        Assert.True(VersionsDocument.ParseUnverified(oldList).Sequence < _h.Store.GetSeenListSequence("cls"));
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_SignedListWithoutVersionsArray_RefusedAsInvalid()
    {
        await _h.StartWithActiveV1Async();
        var json = System.Text.Encoding.UTF8.GetBytes($$"""{"schema": "edgeml.versions/v1", "name": "cls", "expires": "{{_h.Expires:O}}", "versions": null}""");
        File.WriteAllBytes(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName), json);
        File.WriteAllBytes(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.SignatureFileName), DistributionHarness.Key.Sign(json).ToJson());

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.InvalidManifest, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_Downgrade_RefusedUnlessPinned()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        await _h.PullAsync(2);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync(1));

        Assert.Equal(VerificationFailure.Downgrade, e.Failure);
        _h.AssertActiveAndIntact(2);
        var pinned = await _h.PullAsync(1, pinned: true);
        Assert.True(pinned.Activation!.Activated);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_FileLargerThanDeclared_AbortedAsSizeExceededAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        await using (var model = new FileStream(Path.Combine(published, PackageBuilder.ModelFileName), FileMode.Append))
        {
            model.Write(new byte[100_000]);
        }

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync());

        Assert.Equal(DownloadFailure.SizeExceeded, e.Failure);
        Assert.False(File.Exists(Path.Combine(_h.Store.DownloadFolder("cls", 2), PackageBuilder.ModelFileName + FileDownloader.PartialSuffix)));
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_TruncatedFile_RefusedAsTruncatedAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var published = _h.Publish(_h.Package(2));
        await using (var model = new FileStream(Path.Combine(published, PackageBuilder.ModelFileName), FileMode.Open))
        {
            model.SetLength(model.Length - 1000);
        }

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync());

        Assert.Equal(DownloadFailure.Truncated, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Theory]
    [InlineData("../../../evil.bin")]
    [InlineData("/tmp/evil.bin")]
    public async Task PullAsync_UnsafeFilePath_RefusedAsUnsafePathAndV1StaysActive(string path)
    {
        await _h.StartWithActiveV1Async();
        var package = _h.Package(2);
        TestPackages.EditManifest(package, json => json.Replace("\"path\": \"golden/0/0.bin\"", $"\"path\": \"{path}\"", StringComparison.Ordinal), DistributionHarness.Key);
        _h.Publish(package);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.UnsafePath, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_ExternalDataOutsidePackage_RefusedAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        var package = _h.Package(2);
        var modelPath = Path.Combine(package, PackageBuilder.ModelFileName);
        var original = File.ReadAllBytes(modelPath);
        var evil = OnnxFiles.WithExternalData(original, "../../../../etc/passwd");
        File.WriteAllBytes(modelPath, evil);
        TestPackages.EditManifest(package, json => json
            .Replace(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(original)), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(evil)), StringComparison.Ordinal)
            .Replace($"\"size\": {original.Length}", $"\"size\": {evil.Length}", StringComparison.Ordinal), DistributionHarness.Key);
        _h.Publish(package);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync());

        Assert.Equal(VerificationFailure.ExternalDataOutside, e.Failure);
        _h.AssertActiveAndIntact(1);
        Assert.DoesNotContain(2L, _h.Store.GetInstalledVersions("cls"));
    }

    [Fact]
    public async Task PullAsync_DiskFull_RefusedBeforeDownloadAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        _h.FreeSpace = 100_000;

        var e = await Assert.ThrowsAsync<InsufficientSpaceException>(() => _h.PullAsync());

        Assert.Contains("100000 bytes free", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_h.Store.DownloadFolder("cls", 2), "golden")));
        _h.AssertActiveAndIntact(1);
    }

    [SmallDiskFact]
    public async Task PullAsync_DiskFillsDuringDownload_RefusedAsDiskFullWithoutRetryingAndV1StaysActive()
    {
        using var disk = SmallDisk.Mount(4 * 1024 * 1024);
        using var h = new DistributionHarness(dataDirectory: disk.Path);
        await h.StartWithActiveV1Async();
        h.Publish(h.Package(2));
        // The space check passes (the harness reports plenty), then something else on the device takes the
        // disk: the download itself runs into ENOSPC part-way through the model file.
        var free = new DriveInfo(disk.Path).AvailableFreeSpace;
        await File.WriteAllBytesAsync(Path.Combine(disk.Path, "filler"), new byte[free - 200_000]);

        var e = await Assert.ThrowsAsync<InsufficientSpaceException>(() => h.PullAsync());

        Assert.Contains("is full", e.Message, StringComparison.Ordinal);
        Assert.Contains(PackageBuilder.ModelFileName + FileDownloader.PartialSuffix, e.Message, StringComparison.Ordinal);
        h.AssertActiveAndIntact(1);
        Assert.DoesNotContain(2L, h.Store.GetInstalledVersions("cls"));
    }

    [Fact]
    public async Task PullAsync_NotListedVersion_RefusedAsNotListed()
    {
        await _h.StartWithActiveV1Async();

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => _h.PullAsync(7));

        Assert.Equal(VerificationFailure.NotListed, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_DebrisInDownloadArea_OnlyListedFilesInstalled()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        var downloads = _h.Store.DownloadFolder("cls", 2);
        Directory.CreateDirectory(downloads);
        await File.WriteAllTextAsync(Path.Combine(downloads, ".manifest.json.dead.tmp"), "{");

        await _h.PullAsync();

        _h.AssertActiveAndIntact(2);
        Assert.False(File.Exists(Path.Combine(_h.Store.VersionFolder("cls", 2), ".manifest.json.dead.tmp")));
    }

    [Fact]
    public async Task PullAsync_SameVersionAgain_ReportsAlreadyActive()
    {
        await _h.StartWithActiveV1Async();

        var result = await _h.PullAsync();

        Assert.True(result.AlreadyActive);
    }
}
