using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>The publisher extends only a list it can verify, and every publication raises the list's sequence.</summary>
public sealed class PublisherTrustTests : IDisposable
{
    private readonly DistributionHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string ListPath => Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName);

    private string SignaturePath => Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.SignatureFileName);

    [Fact]
    public async Task PublishAsync_ListEditedWithoutTheKey_RefusedBeforeUploadingAnything()
    {
        var publisher = new ModelPublisher(TestRegistries.Create(_h.RegistryRoot));
        await publisher.PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        var forged = JsonNode.Parse(File.ReadAllBytes(ListPath))!;
        forged["versions"]!.AsArray().Add(new JsonObject { ["version"] = 999999, ["manifestSha256"] = new string('a', 64) });
        File.WriteAllText(ListPath, forged.ToJsonString());
        var (list, signature) = (File.ReadAllBytes(ListPath), File.ReadAllBytes(SignaturePath));

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() =>
            publisher.PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None));

        Assert.Equal(VerificationFailure.BadSignature, e.Failure);
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
        Assert.Equal(list, File.ReadAllBytes(ListPath));
        Assert.Equal(signature, File.ReadAllBytes(SignaturePath));
        Assert.False(Directory.Exists(Path.Combine(_h.RegistryRoot, "cls", "2")));
    }

    [Fact]
    public async Task PublishAsync_NewList_StartsAfreshWithAHigherSequenceThatDevicesAccept()
    {
        await _h.StartWithActiveV1Async();
        var before = _h.Store.GetSeenListSequence("cls");
        File.WriteAllText(ListPath, "{ \"damaged\": true }");

        var list = await new ModelPublisher(TestRegistries.Create(_h.RegistryRoot)) { NewList = true }
            .PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);

        Assert.Equal([2L], list.Versions.Select(v => v.Version));
        Assert.True(list.Sequence > before);
        var pulled = await _h.PullAsync();
        Assert.Equal(2, pulled.Version);
    }

    [Fact]
    public async Task PublishAsync_ListOfAnotherPublisher_ExtendedOnlyWhenItsKeyIsTrusted()
    {
        using var colleague = SigningKey.Create();
        await new ModelPublisher(TestRegistries.Create(_h.RegistryRoot)).PublishAsync(Signed(_h.Package(1), colleague), colleague, TimeSpan.FromDays(1), null, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<PackageVerificationException>(() => new ModelPublisher(TestRegistries.Create(_h.RegistryRoot))
            .PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None));
        var list = await new ModelPublisher(TestRegistries.Create(_h.RegistryRoot)) { TrustedKeyPems = [colleague.ExportPublicKeyPem()] }
            .PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);

        Assert.Equal(VerificationFailure.UnknownKey, refused.Failure);
        Assert.Equal([1L, 2L], list.Versions.Select(v => v.Version));
        Assert.Equal(DistributionHarness.Key.KeyId, DetachedSignature.Parse(File.ReadAllBytes(SignaturePath), "versions.sig").KeyId);
    }

    [Fact]
    public async Task PublishAndRenew_SameMillisecond_EachRaisesTheSequence()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero));
        var publisher = new ModelPublisher(TestRegistries.Create(_h.RegistryRoot), time, NullLogger<ModelPublisher>.Instance);

        var first = await publisher.PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        var second = await publisher.PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        var renewed = await publisher.RenewAsync("cls", DistributionHarness.Key, TimeSpan.FromDays(2), CancellationToken.None);

        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), first.Sequence);
        Assert.Equal(first.Sequence + 1, second.Sequence);
        Assert.Equal(second.Sequence + 1, renewed.Sequence);
        Assert.Equal([1L, 2L], renewed.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task RenewAsync_ListEditedWithoutTheKey_Refused()
    {
        var publisher = new ModelPublisher(TestRegistries.Create(_h.RegistryRoot));
        await publisher.PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        File.Delete(SignaturePath);

        var e = await Assert.ThrowsAsync<PackageVerificationException>(() => publisher.RenewAsync("cls", DistributionHarness.Key, TimeSpan.FromDays(1), CancellationToken.None));

        Assert.Equal(VerificationFailure.Unsigned, e.Failure);
    }

    private static string Signed(string package, SigningKey key)
    {
        PackageBuilder.Sign(package, key);
        return package;
    }
}
