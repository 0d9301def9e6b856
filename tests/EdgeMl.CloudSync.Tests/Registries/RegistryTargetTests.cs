using EdgeMl.CloudSync.Registries;

namespace EdgeMl.CloudSync.Tests.Registries;

public sealed class RegistryTargetTests
{
    [Theory]
    [InlineData("/srv/models", "FolderRegistry")]
    [InlineData("relative/models", "FolderRegistry")]
    [InlineData("https://cdn.example.com/models/", "HttpRegistry")]
    [InlineData("http://127.0.0.1:8080/registry", "HttpRegistry")]
    [InlineData("https://acct.blob.core.windows.net/models?sv=2024&sig=x", "BlobRegistry")]
    [InlineData("blob:http://127.0.0.1:10000/devstoreaccount1/models", "BlobRegistry")]
    [InlineData("UseDevelopmentStorage=true;Container=models", "BlobRegistry")]
    public void Create_Target_PicksTheRegistryKind(string target, string kind)
    {
        Assert.Equal(kind, RegistryTarget.Create(target).GetType().Name);
    }

    [Fact]
    public void Create_ConnectionStringWithoutContainer_ThrowsNamingTheFix()
    {
        var e = Assert.Throws<ArgumentException>(() => RegistryTarget.Create("UseDevelopmentStorage=true"));

        Assert.Contains("Container=NAME", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Description_BlobUrlWithSas_HasNoSecret()
    {
        Assert.DoesNotContain("sig=", RegistryTarget.Create("https://acct.blob.core.windows.net/models?sv=2024&sig=secret").Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullAsync_NameThatLeavesTheStore_RefusedBeforeAnyRequest()
    {
        using var h = new DistributionHarness();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            h.Puller().PullAsync(new PullRequest("../etc"), new EdgeMl.Testing.Distribution.AcceptingValidator(), null, CancellationToken.None));
    }
}
