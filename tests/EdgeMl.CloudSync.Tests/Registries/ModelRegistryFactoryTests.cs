using EdgeMl.CloudSync.Registries;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.CloudSync.Tests.Registries;

public sealed class ModelRegistryFactoryTests
{
    [Theory]
    [InlineData("/srv/models", "FolderRegistry")]
    [InlineData("relative/models", "FolderRegistry")]
    [InlineData("file:///srv/models", "FolderRegistry")]
    [InlineData("https://cdn.example.com/models/", "HttpRegistry")]
    [InlineData("http://127.0.0.1:8080/registry", "HttpRegistry")]
    [InlineData("https://acct.blob.core.windows.net/models?sv=2024&sig=x", "BlobRegistry")]
    [InlineData("blob:http://127.0.0.1:10000/devstoreaccount1/models", "BlobRegistry")]
    [InlineData("UseDevelopmentStorage=true;Container=models", "BlobRegistry")]
    public void Create_Target_PicksTheRegistryKind(string target, string kind)
    {
        Assert.Equal(kind, TestRegistries.Create(target).GetType().Name);
    }

    [Fact]
    public void Create_FileUrl_OpensItsLocalPath()
    {
        Assert.Equal("/srv/models", TestRegistries.Create("file:///srv/models").Description);
    }

    [Fact]
    public void AddModelRegistries_EachKindRegisteredOnce()
    {
        var services = new ServiceCollection().AddLogging().AddModelRegistries().AddModelRegistries().BuildServiceProvider();

        Assert.Equal(["folder", "http", "blob"], services.GetServices<IRegistryKind>().Select(k => k.Name));
    }

    [Theory]
    [InlineData("s3://bucket/models")]
    [InlineData("ftp://models.example/edgeml")]
    public void Create_UnknownKind_RefusedNamingTheKindsThereAre(string target)
    {
        var e = Assert.Throws<ArgumentException>(() => TestRegistries.Create(target));

        Assert.StartsWith($"no registry kind takes '{target}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("folder: a folder path", e.Message, StringComparison.Ordinal);
        Assert.Contains("http: an http(s):// URL", e.Message, StringComparison.Ordinal);
        Assert.Contains("blob: blob:URL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_UnknownKindWithACredential_MessageHasNoSecret()
    {
        var e = Assert.Throws<ArgumentException>(() => TestRegistries.Create("s3://reader:secret-pass@bucket/models"));

        Assert.DoesNotContain("secret-pass", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_AKindRegisteredBesideTheOthers_TakesItsTargets()
    {
        var factory = TestRegistries.Factory(configure: s => s.AddSingleton<IRegistryKind, BucketKind>());

        Assert.Equal("bucket s3://bucket/models", factory.Create("s3://bucket/models").Description);
        Assert.IsType<FolderRegistry>(factory.Create("/srv/models"));
    }

    [Fact]
    public void Create_ConnectionStringWithoutContainer_ThrowsNamingTheFix()
    {
        var e = Assert.Throws<ArgumentException>(() => TestRegistries.Create("UseDevelopmentStorage=true"));

        Assert.Contains("Container=NAME", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Description_BlobUrlWithSas_HasNoSecret()
    {
        Assert.DoesNotContain("sig=", TestRegistries.Create("https://acct.blob.core.windows.net/models?sv=2024&sig=secret").Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullAsync_NameThatLeavesTheStore_RefusedBeforeAnyRequest()
    {
        using var h = new DistributionHarness();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            h.Puller().PullAsync(new PullRequest("../etc"), new EdgeMl.Testing.Distribution.AcceptingValidator(), null, CancellationToken.None));
    }

    private sealed class BucketKind : IRegistryKind
    {
        public string Name => "bucket";

        public string Takes => "s3://BUCKET";

        public RegistryClaim Claim(string target) =>
            target.StartsWith("s3://", StringComparison.Ordinal) ? RegistryClaim.Specific : RegistryClaim.None;

        public IModelRegistry Open(string target) => new BucketRegistry("bucket " + target);
    }

    private sealed class BucketRegistry(string description) : IModelRegistry
    {
        public string Description => description;

        public Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task WriteAsync(string path, Stream content, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
