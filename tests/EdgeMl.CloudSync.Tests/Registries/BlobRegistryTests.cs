using Azure.Storage.Blobs;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Testing;
using EdgeMl.Testing.Azurite;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>One real Azurite for the blob tests of this class; missing Azurite fails them (scripts/setup.sh installs it).</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await AzuriteServer.StartNewAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class BlobRegistryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly DistributionHarness _h = new();
    private readonly string _container = "models-" + Guid.NewGuid().ToString("N")[..8];

    private string Target => azurite.Server.ConnectionString + $"Container={_container}";

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task PublishThenPull_ThroughAzurite_ActivatesAndListsBothVersions()
    {
        var registry = TestRegistries.Create(Target);
        var publisher = new ModelPublisher(registry);
        await publisher.PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        var list = await publisher.PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);

        var result = await _h.PullAsync(registry: TestRegistries.Create(Target));

        Assert.Equal([1L, 2L], list.Versions.Select(v => v.Version));
        Assert.Equal(2, result.Version);
        _h.AssertActiveAndIntact(2);
    }

    [Fact]
    public async Task OpenReadAsync_FromOffset_ServesTheRestOfTheBlob()
    {
        var registry = TestRegistries.Create(Target);
        var bytes = new byte[300_000];
        new Random(3).NextBytes(bytes);
        using (var source = new MemoryStream(bytes))
        {
            await registry.WriteAsync("cls/9/data.bin", source, CancellationToken.None);
        }

        await using var content = await registry.OpenReadAsync("cls/9/data.bin", 123_456, CancellationToken.None);
        using var rest = new MemoryStream();
        await content.Stream.CopyToAsync(rest);

        Assert.Equal(123_456, content.Offset);
        Assert.Equal(bytes.AsSpan(123_456).ToArray(), rest.ToArray());
    }

    [Fact]
    public async Task PullAsync_TamperedBlob_RefusedAndV1StaysActive()
    {
        var registry = TestRegistries.Create(Target);
        var publisher = new ModelPublisher(registry);
        await publisher.PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        await _h.PullAsync(registry: registry);
        await publisher.PublishAsync(_h.Package(2), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);
        var blob = new BlobContainerClient(azurite.Server.ConnectionString, _container).GetBlobClient("cls/2/model.onnx");
        var model = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        model[1000] ^= 1;
        await blob.UploadAsync(new BinaryData(model), overwrite: true);

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync(registry: TestRegistries.Create(Target)));

        Assert.Equal(DownloadFailure.HashMismatch, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task TryReadAsync_MissingContainer_ReturnsNull()
    {
        var registry = TestRegistries.Create(Target);

        Assert.Null(await registry.TryReadAsync("cls/versions.json", 1024, CancellationToken.None));
        Assert.IsType<BlobRegistry>(registry);
    }
}
